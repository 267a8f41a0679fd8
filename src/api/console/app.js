// Gamay console: the tables and their ingestion, a SQL editor with the
// result as a table and a uPlot chart, and the export connectors.
//
// Plain JavaScript, no framework and no build step. Server data reaches the
// page only through textContent and attributes (see `el`), never as HTML.
'use strict';

const SQL_KEY = 'gamay.console.sql';
const MAX_RENDERED_ROWS = 1000;
const MAX_BARS = 200;
const CHART_HEIGHT = 300;
const PALETTE = ['#7b2d42', '#2f6db5', '#d08a1e', '#2e8b57', '#8e5bb5', '#c0504d', '#4b9fa6', '#6b6b76'];
const NUMERIC_TYPES = new Set(['INT', 'LONG', 'FLOAT', 'DOUBLE', 'BIG_DECIMAL']);
const INTEGER_TYPES = new Set(['INT', 'LONG']);
// Names that usually hold a point in time: ts, update_at, event_time, day...
const TIME_NAME = /time|date|(^|_)(ts|at|day|hour|minute|epoch|millis)$/i;
// Epoch milliseconds between 1973 and 2286.
const EPOCH_MS_MIN = 1e11;
const EPOCH_MS_MAX = 1e13;
// Epoch seconds from 1973 on.
const EPOCH_S_MIN = 1e8;

const $ = (id) => document.getElementById(id);

// ------------------------------------------------------------------ DOM

/**
 * Creates an element. `props` may hold `className`, `text` (set as
 * textContent), `title`, `dataset` (an object) and `attrs` (attributes);
 * children are nodes or strings (added as text), null ones skipped.
 */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  if (props.className) node.className = props.className;
  if (props.text !== undefined && props.text !== null) node.textContent = String(props.text);
  if (props.title) node.title = props.title;
  for (const [key, value] of Object.entries(props.dataset || {})) node.dataset[key] = value;
  for (const [key, value] of Object.entries(props.attrs || {})) node.setAttribute(key, value);
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function clear(node) {
  node.replaceChildren();
}

// ------------------------------------------------------------------ formatting

const countFormat = new Intl.NumberFormat('en-US');

function formatCount(value) {
  return typeof value === 'number' ? countFormat.format(value) : '—';
}

function formatBytes(bytes) {
  if (typeof bytes !== 'number' || bytes < 0) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** Epoch millis as `2026-11-01 03:00:00` (UTC, milliseconds when not 0). */
function formatTimestamp(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '';
  const iso = new Date(ms).toISOString();
  const text = iso.slice(0, 19).replace('T', ' ');
  return ms % 1000 === 0 ? text : `${text}.${iso.slice(20, 23)}`;
}

function plural(n, noun) {
  return `${formatCount(n)} ${noun}${n === 1 ? '' : 's'}`;
}

/** Short axis labels: 1200 -> 1.2k, 3500000 -> 3.5M. */
function compactNumber(value) {
  if (value === null || value === undefined) return '';
  const abs = Math.abs(value);
  const scaled = (n, suffix) => `${Number((value / n).toFixed(1))}${suffix}`;
  if (abs >= 1e12) return scaled(1e12, 'T');
  if (abs >= 1e9) return scaled(1e9, 'G');
  if (abs >= 1e6) return scaled(1e6, 'M');
  if (abs >= 1e4) return scaled(1e3, 'k');
  return String(Number(value.toFixed(6)));
}

/** A cell's text: null, arrays and objects made visible. */
function cellText(value) {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

// ------------------------------------------------------------------ HTTP

/** A non-2xx answer; `message` is the API's own when it sent one. */
class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The API's error message in any of its shapes ({code, error} or Kafka Connect's {error_code, message}). */
function apiErrorMessage(body, text, response) {
  if (body && typeof body === 'object') {
    if (typeof body.error === 'string') return body.error;
    if (typeof body.message === 'string') return body.message;
  }
  const snippet = (text || '').trim().slice(0, 500);
  return snippet || response.statusText || 'no message';
}

// ------------------------------------------------------------------ sign-in

// With authentication on, the API answers 401 until the console sends
// Pinot's Basic credentials. `X-Requested-With` asks the server to leave out
// its `WWW-Authenticate` challenge, so the browser shows this console's
// sign-in form instead of its own prompt. The credentials live in this tab's
// sessionStorage and go only to this origin.
const AUTH_KEY = 'gamay-authorization';
let signingIn = null;

function authHeaders(authorization = sessionStorage.getItem(AUTH_KEY)) {
  const headers = { 'X-Requested-With': 'XMLHttpRequest' };
  if (authorization) headers.Authorization = authorization;
  return headers;
}

function basicCredentials(user, password) {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `Basic ${btoa(binary)}`;
}

/** `fetch` with the console's credentials; a 401 asks for them, then retries. */
async function apiFetch(path, init = {}) {
  for (;;) {
    const sent = sessionStorage.getItem(AUTH_KEY);
    const response = await fetch(path, { ...init, headers: { ...(init.headers || {}), ...authHeaders(sent) } });
    if (response.status !== 401) return response;
    // Another request may have signed in meanwhile: retry with that.
    if (sessionStorage.getItem(AUTH_KEY) === sent) await signIn(sent ? 'Sign in again: the server refused the saved credentials.' : '');
  }
}

/** Shows the sign-in form until the server accepts what is typed in it. */
function signIn(note) {
  if (!signingIn) {
    signingIn = new Promise((resolve) => {
      const dialog = $('login');
      const form = $('login-form');
      const error = $('login-error');
      error.textContent = note;
      error.hidden = !note;
      form.onsubmit = async (event) => {
        event.preventDefault();
        const authorization = basicCredentials($('login-user').value, $('login-password').value);
        const response = await fetch('/tables', { headers: { Accept: 'application/json', ...authHeaders(authorization) } })
          .catch((err) => ({ status: 0, statusText: err.message }));
        if (response.status === 401) {
          error.textContent = 'Wrong user name or password.';
          error.hidden = false;
          return;
        }
        if (response.status === 0) {
          error.textContent = `The server could not be reached (${response.statusText}).`;
          error.hidden = false;
          return;
        }
        sessionStorage.setItem(AUTH_KEY, authorization);
        $('login-password').value = '';
        dialog.close();
        showSignedIn();
        signingIn = null;
        resolve();
      };
      dialog.showModal();
      $('login-user').focus();
    });
  }
  return signingIn;
}

function showSignedIn() {
  const signedIn = Boolean(sessionStorage.getItem(AUTH_KEY));
  $('sign-out').hidden = !signedIn;
}

function signOut() {
  sessionStorage.removeItem(AUTH_KEY);
  window.location.reload();
}

async function getJson(path) {
  const response = await apiFetch(path, { headers: { Accept: 'application/json' } });
  const text = await response.text();
  const body = parseJson(text);
  if (!response.ok) throw new HttpError(response.status, apiErrorMessage(body, text, response));
  if (body === undefined) throw new HttpError(response.status, `${path} did not answer JSON`);
  return body;
}

function describeError(err) {
  if (err instanceof HttpError) return `HTTP ${err.status}: ${err.message}`;
  return `the server could not be reached (${err.message})`;
}

// ------------------------------------------------------------------ health

async function checkHealth() {
  const badge = $('health');
  try {
    const response = await fetch('/health');
    const up = response.ok;
    badge.className = `health ${up ? 'up' : 'down'}`;
    badge.textContent = up ? 'server up' : `server answers ${response.status}`;
  } catch {
    badge.className = 'health down';
    badge.textContent = 'server unreachable';
  }
}

// ------------------------------------------------------------------ tables

const TABLE_TYPES = ['OFFLINE', 'REALTIME'];
let tablesGeneration = 0;

function rawName(name) {
  return name.replace(/_(OFFLINE|REALTIME)$/, '');
}

/** A table name as SQL: quoted unless it is a plain identifier. */
function sqlName(name) {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/**
 * Every table as {typed, raw, type, config}. `/tables` may list raw or
 * typed names; `/tables/{name}` answers {"OFFLINE": config, "REALTIME": config}
 * with the types that name covers.
 */
async function fetchTableEntries() {
  const { tables = [] } = await getJson('/tables');
  const configs = await Promise.all(tables.map((name) => getJson(`/tables/${encodeURIComponent(name)}`)));
  const entries = new Map();
  configs.forEach((byType, i) => {
    const raw = rawName(tables[i]);
    for (const type of TABLE_TYPES) {
      if (!byType[type]) continue;
      const typed = `${raw}_${type}`;
      entries.set(typed, { typed, raw, type, config: byType[type] });
    }
  });
  return [...entries.values()].sort((a, b) => a.typed.localeCompare(b.typed));
}

async function loadTables() {
  const generation = ++tablesGeneration;
  const list = $('tables');
  const status = $('tables-status');
  const button = $('tables-refresh');
  button.disabled = true;
  status.hidden = false;
  status.textContent = 'Loading…';
  checkHealth();
  try {
    const entries = await fetchTableEntries();
    if (generation !== tablesGeneration) return;
    clear(list);
    status.hidden = entries.length > 0;
    status.textContent = 'No tables yet. Create a schema and a table through the API.';
    for (const entry of entries) {
      const card = tableCard(entry);
      list.append(card);
      fillTableCard(card, entry, generation);
    }
    suggestQuery(entries);
  } catch (err) {
    if (generation !== tablesGeneration) return;
    clear(list);
    status.hidden = false;
    status.textContent = `Tables could not be listed: ${describeError(err)}`;
  } finally {
    if (generation === tablesGeneration) button.disabled = false;
  }
}

function fact(name, label) {
  return el('div', { className: 'fact' },
    el('b', { text: '…', dataset: { stat: name } }),
    el('span', { text: label, dataset: { label: name } }));
}

/** A table's card with placeholders; `fillTableCard` fills it in. */
function tableCard(entry) {
  const name = el('button', {
    className: 'table-name',
    text: entry.typed,
    title: `Query ${entry.raw}`,
    attrs: { type: 'button' },
  });
  name.addEventListener('click', () => {
    setEditor(`SELECT * FROM ${sqlName(entry.raw)} LIMIT 10`);
    $('sql').focus();
  });
  const badge = el('span', { className: `badge ${entry.type.toLowerCase()}`, text: entry.type });
  return el(
    'li',
    { className: 'table-card', dataset: { table: entry.typed } },
    el('div', { className: 'table-card-head' }, name, badge),
    el('div', { className: 'facts' }, fact('rows', 'rows'), fact('segments', 'segments'), fact('size', 'on disk')),
    el('div', { className: 'meta-error' }),
    el('div', { className: 'ingestion' }),
    el('div', { className: 'schema' }),
  );
}

function fillTableCard(card, entry, generation) {
  const current = () => generation === tablesGeneration;
  loadMetadata(card, entry, current);
  loadSchema(card, entry, current);
  if (entry.type === 'REALTIME') loadIngestion(card, entry, current);
}

async function loadMetadata(card, entry, current) {
  const stat = (name) => card.querySelector(`[data-stat="${name}"]`);
  const errorBox = card.querySelector('.meta-error');
  try {
    const meta = await getJson(`/tables/${encodeURIComponent(entry.typed)}/metadata`);
    if (!current()) return;
    stat('rows').textContent = formatCount(meta.numRows);
    stat('segments').textContent = formatCount(meta.numSegments);
    if (meta.numConsumingSegments > 0) {
      card.querySelector('[data-label="segments"]').textContent = `segments · ${meta.numConsumingSegments} consuming`;
    }
    stat('size').textContent = formatBytes(meta.diskSizeInBytes);
  } catch (err) {
    if (!current()) return;
    for (const name of ['rows', 'segments', 'size']) stat(name).textContent = '—';
    errorBox.replaceChildren(el('p', { className: 'inline-error', text: `Metadata: ${describeError(err)}` }));
  }
}

/** The schema's columns as [name, dataType, role, multiValue]. */
function schemaColumns(schema) {
  const groups = [
    ['dimensionFieldSpecs', 'dimension'],
    ['metricFieldSpecs', 'metric'],
    ['dateTimeFieldSpecs', 'time'],
    ['timeFieldSpec', 'time'],
  ];
  const columns = [];
  for (const [key, role] of groups) {
    let specs = schema[key] || [];
    // The legacy timeFieldSpec is one object holding incomingGranularitySpec.
    if (!Array.isArray(specs)) specs = [specs.incomingGranularitySpec || specs];
    for (const spec of specs) {
      if (spec && spec.name) columns.push([spec.name, spec.dataType || '', role, spec.singleValueField === false]);
    }
  }
  return columns;
}

async function loadSchema(card, entry, current) {
  const box = card.querySelector('.schema');
  const schemaName = entry.config?.segmentsConfig?.schemaName || entry.raw;
  try {
    const schema = await getJson(`/schemas/${encodeURIComponent(schemaName)}`);
    if (!current()) return;
    const columns = schemaColumns(schema);
    const timeColumn = entry.config?.segmentsConfig?.timeColumnName;
    const body = el('tbody');
    for (const [name, type, role, multi] of columns) {
      const roleText = name === timeColumn ? `${role} · table time` : role;
      body.append(
        el('tr', {},
          el('td', { className: 'mono', text: name }),
          el('td', { className: 'mono', text: multi ? `${type}[]` : type }),
          el('td', { text: roleText })));
    }
    const table = el('table', { className: 'grid compact' },
      el('thead', {}, el('tr', {}, el('th', { text: 'Column' }), el('th', { text: 'Type' }), el('th', { text: 'Role' }))),
      body);
    box.replaceChildren(el('details', {},
      el('summary', { text: `Schema ${schemaName} · ${columns.length} columns` }),
      el('div', { className: 'scroll' }, table)));
  } catch (err) {
    if (!current()) return;
    box.replaceChildren(el('p', { className: 'inline-error', text: `Schema ${schemaName}: ${describeError(err)}` }));
  }
}

function stateBadge(state) {
  const kind = {
    CONSUMING: 'ok', RUNNING: 'ok', ONLINE: 'ok', PAUSED: 'warn', STARTING: 'warn', RETRYING: 'bad', STOPPED: 'bad', FAILED: 'bad', ERROR: 'bad',
  }[state];
  return el('span', { className: `badge ${kind || ''}`, text: state || 'unknown' });
}

function numberCell(value) {
  return el('td', { className: 'num', text: typeof value === 'number' ? formatCount(value) : '—' });
}

async function loadIngestion(card, entry, current) {
  const box = card.querySelector('.ingestion');
  try {
    const status = await getJson(`/tables/${encodeURIComponent(entry.typed)}/ingestionStatus`);
    if (!current()) return;
    box.replaceChildren(ingestionView(status));
  } catch (err) {
    if (!current()) return;
    box.replaceChildren(el('p', { className: 'inline-error', text: `Ingestion: ${describeError(err)}` }));
  }
}

/** The table's consumption in one word, from its partitions' states. */
function tableIngestionState(status, partitions) {
  if (status.paused) return 'PAUSED';
  if (status.tableError) return 'ERROR';
  if (partitions.length === 0) return 'STARTING';
  const states = new Set(partitions.map((p) => p.state));
  if (states.size === 1) return partitions[0].state;
  for (const state of ['RETRYING', 'STOPPED', 'STARTING', 'PAUSED']) if (states.has(state)) return state;
  return 'CONSUMING';
}

/** The ingestion status (`TableIngestion` in src/server/realtime) as a summary and a partition table. */
function ingestionView(status) {
  const partitions = status.partitions || [];
  const facts = el('dl', { className: 'kv' },
    el('dt', { text: 'Topic' }), el('dd', { text: status.topic }),
    el('dt', { text: 'State' }), el('dd', {}, stateBadge(tableIngestionState(status, partitions))),
    el('dt', { text: 'Bad messages' }), el('dd', { text: formatCount(status.badMessages), dataset: { stat: 'badMessages' } }),
    el('dt', { text: 'Filtered' }), el('dd', { text: formatCount(status.filteredMessages) }),
    el('dt', { text: 'Offsets lost' }), el('dd', { text: formatCount(status.lostOffsets) }));
  const reasons = Object.entries(status.badMessagesByReason || {});
  if (reasons.length > 0) {
    facts.append(el('dt', { text: 'By reason' }),
      el('dd', { text: reasons.map(([reason, count]) => `${reason} ${count}`).join(', ') }));
  }
  const rows = el('tbody');
  for (const partition of partitions) {
    const lag = partition.latestOffset != null && partition.currentOffset != null
      ? Math.max(0, partition.latestOffset - partition.currentOffset) : null;
    rows.append(el('tr', { dataset: { partition: String(partition.partition) } },
      el('td', { className: 'num', text: partition.partition }),
      el('td', {}, stateBadge(partition.state)),
      numberCell(partition.currentOffset),
      numberCell(partition.latestOffset),
      numberCell(lag),
      numberCell(partition.rowsConsumed)));
    if (partition.lastError) {
      rows.append(el('tr', {}, el('td', { className: 'inline-error', text: partition.lastError, attrs: { colspan: '6' } })));
    }
  }
  const table = el('table', { className: 'grid compact' },
    el('thead', {}, el('tr', {},
      el('th', { className: 'num', text: 'Part.' }), el('th', { text: 'State' }),
      el('th', { className: 'num', text: 'Offset' }), el('th', { className: 'num', text: 'Latest' }),
      el('th', { className: 'num', text: 'Lag' }), el('th', { className: 'num', text: 'Rows' }))),
    rows);
  const details = el('details', { attrs: { open: '' } },
    el('summary', { text: `Ingestion · ${plural(partitions.length, 'partition')}` }),
    facts,
    status.tableError ? el('p', { className: 'inline-error', text: `Table error: ${status.tableError}` }) : null,
    partitions.length > 0
      ? el('div', { className: 'scroll' }, table)
      : el('p', { className: 'muted', text: 'No partition is assigned yet.' }));
  return details;
}

// ------------------------------------------------------------------ editor

function setEditor(sql) {
  $('sql').value = sql;
  saveEditor();
}

function saveEditor() {
  try {
    localStorage.setItem(SQL_KEY, $('sql').value);
  } catch {
    // Storage may be disabled; the editor works without it.
  }
}

function restoreEditor() {
  try {
    const saved = localStorage.getItem(SQL_KEY);
    if (saved) $('sql').value = saved;
  } catch {
    // As in saveEditor.
  }
}

/** Offers a first query when the editor is empty. */
function suggestQuery(entries) {
  if ($('sql').value.trim() === '' && entries.length > 0) {
    $('sql').value = `SELECT * FROM ${sqlName(entries[0].raw)} LIMIT 10`;
  }
}

// ------------------------------------------------------------------ query

let queryRun = 0;

async function runQuery() {
  const sql = $('sql').value.trim();
  if (sql === '') return;
  saveEditor();
  const run = ++queryRun;
  const button = $('run');
  const state = $('query-state');
  button.disabled = true;
  state.textContent = 'Running…';
  const started = performance.now();
  let outcome;
  try {
    const response = await apiFetch('/query/sql', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ sql }),
    });
    const text = await response.text();
    outcome = { response, text, body: parseJson(text) };
  } catch (err) {
    outcome = { networkError: err };
  }
  // A newer run owns the page now.
  if (run !== queryRun) return;
  button.disabled = false;
  showOutcome(outcome, Math.round(performance.now() - started));
  // Counts finished runs, for whoever waits on the page (the browser test).
  state.dataset.finished = String(run);
}

/** Renders a query's answer: errors, stats, chart and rows. */
function showOutcome({ response, text, body, networkError }, roundTripMs) {
  resetResult();
  const state = $('query-state');
  if (networkError) {
    showErrors([{ title: 'Network error', message: `The server could not be reached: ${networkError.message}` }]);
    state.textContent = 'Failed';
    return;
  }
  const exceptions = Array.isArray(body?.exceptions) ? body.exceptions : [];
  if (exceptions.length > 0) {
    showErrors(exceptions.map((e) => ({ code: e.errorCode, message: e.message })));
  } else if (!response.ok) {
    const code = body && typeof body.code === 'number' ? body.code : response.status;
    showErrors([{ title: `HTTP ${response.status}`, code, message: apiErrorMessage(body, text, response) }]);
  } else if (!body || typeof body !== 'object') {
    showErrors([{ title: 'Unexpected answer', message: (text || '').slice(0, 500) || 'an empty body' }]);
  }
  const table = body?.resultTable;
  if (table && table.dataSchema) {
    showStats(body);
    showRows(table);
    showChart(table);
  }
  const failed = exceptions.length > 0 || !response.ok;
  state.textContent = failed
    ? `Failed (HTTP ${response.status}) · ${roundTripMs} ms`
    : `Done · ${roundTripMs} ms round trip`;
}

function resetResult() {
  destroyChart();
  for (const id of ['errors', 'stats', 'chart-area', 'result-note', 'result']) $(id).hidden = true;
  clear($('errors'));
  clear($('stats'));
  clear($('result'));
  $('chart-note').textContent = '';
}

/** errors: [{code?, title?, message}] */
function showErrors(errors) {
  const box = $('errors');
  for (const error of errors) {
    const head = el('div', {},
      error.code !== undefined && error.code !== null
        ? el('span', { className: 'error-code', text: `${error.code}`, title: 'error code' }) : null,
      el('strong', { text: error.title || errorTitle(error.code) }));
    box.append(el('div', { className: 'error-item' }, head, el('pre', { className: 'error-message', text: error.message || '' })));
  }
  box.hidden = false;
}

/** Pinot's names for the query error codes Gamay answers (src/query/error.rs). */
function errorTitle(code) {
  const titles = {
    100: 'Request parsing error',
    150: 'SQL parsing error',
    190: 'Table does not exist',
    200: 'Query execution error',
    250: 'Query timed out',
    450: 'Internal error',
    700: 'Query validation error',
    710: 'Unknown column',
  };
  return titles[code] || 'Query error';
}

function showStats(body) {
  const stats = $('stats');
  const items = [
    ['timeUsedMs', 'Time', `${body.timeUsedMs ?? '—'} ms`],
    ['numRowsResultSet', 'Rows', formatCount(body.numRowsResultSet)],
    ['numDocsScanned', 'Docs scanned', formatCount(body.numDocsScanned)],
    ['totalDocs', 'Total docs', formatCount(body.totalDocs)],
    ['numSegmentsQueried', 'Segments queried', formatCount(body.numSegmentsQueried)],
    ['numSegmentsProcessed', 'Processed', formatCount(body.numSegmentsProcessed)],
    ['numSegmentsMatched', 'Matched', formatCount(body.numSegmentsMatched)],
  ];
  if (body.numConsumingSegmentsQueried > 0) {
    items.push(['numConsumingSegmentsQueried', 'Consuming segments', formatCount(body.numConsumingSegmentsQueried)]);
  }
  for (const [key, label, value] of items) {
    stats.append(el('div', {}, el('dt', { text: label }), el('dd', { text: value, dataset: { stat: key } })));
  }
  if (body.partialResult) stats.append(flag('Partial result', 'some servers or segments did not answer'));
  if (body.numGroupsLimitReached) stats.append(flag('Groups limit reached', 'the result may miss groups (numGroupsLimit)'));
  stats.hidden = false;
}

function flag(label, title) {
  return el('div', { className: 'flag', title }, el('dt', { text: 'Warning' }), el('dd', { text: label }));
}

function showRows(table) {
  const names = table.dataSchema.columnNames || [];
  const types = table.dataSchema.columnDataTypes || [];
  const rows = table.rows || [];
  const numeric = types.map((type) => NUMERIC_TYPES.has(type));
  const head = el('tr', {}, ...names.map((name, i) =>
    el('th', { className: numeric[i] ? 'num' : '' }, name, el('small', { text: types[i] || '' }))));
  const body = el('tbody');
  for (const row of rows.slice(0, MAX_RENDERED_ROWS)) {
    body.append(el('tr', {}, ...row.map((value, i) => resultCell(value, types[i], numeric[i]))));
  }
  const result = $('result');
  result.append(el('thead', {}, head), body);
  result.hidden = false;
  const note = $('result-note');
  if (rows.length === 0) {
    note.textContent = 'No rows.';
    note.hidden = false;
  } else if (rows.length > MAX_RENDERED_ROWS) {
    note.textContent = `Showing the first ${formatCount(MAX_RENDERED_ROWS)} of ${formatCount(rows.length)} rows.`;
    note.hidden = false;
  }
}

/** A result cell; TIMESTAMP millis read as UTC time, the number kept in the tooltip. */
function resultCell(value, type, numeric) {
  if (value === null || value === undefined) return el('td', { className: 'null', text: 'null' });
  if (type === 'TIMESTAMP' && typeof value === 'number') {
    return el('td', { className: 'mono nowrap', text: formatTimestamp(value), title: `${value} (epoch millis, UTC)` });
  }
  return el('td', { className: numeric ? 'num' : '', text: cellText(value) });
}

// ------------------------------------------------------------------ chart

let chart = null;

function destroyChart() {
  if (chart) chart.destroy();
  chart = null;
  clear($('chart'));
}

/** A value as a number for plotting, or null (BIG_DECIMAL comes as text). */
function toNumber(value) {
  if (value === null || value === undefined || value === '') return null;
  const number = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(number) ? number : null;
}

/** Text timestamps are UTC unless they name a zone. */
function parseTimeText(text) {
  let iso = text.trim().replace(' ', 'T');
  if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) iso += 'T00:00:00';
  if (!/(Z|[+-]\d{2}:?\d{2})$/.test(iso)) iso += 'Z';
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
}

/**
 * The first column as epoch millis, or null when it does not hold times:
 * a TIMESTAMP column, LONG values in the epoch-millis range, or a column
 * named like a time whose values are epoch millis or seconds, or dates.
 */
function timeValues(name, type, values) {
  const present = values.filter((v) => v !== null && v !== undefined);
  if (present.length === 0) return null;
  const numbers = present.map(toNumber);
  const allNumbers = numbers.every((n) => n !== null);
  const inRange = (lo, hi) => numbers.every((n) => n >= lo && n < hi);
  const asMillis = (scale) => values.map((v) => (toNumber(v) === null ? null : toNumber(v) * scale));
  if (type === 'TIMESTAMP') return allNumbers ? asMillis(1) : parseTimes(values);
  if (type === 'LONG' && allNumbers && inRange(EPOCH_MS_MIN, EPOCH_MS_MAX)) return asMillis(1);
  if (!TIME_NAME.test(name)) return null;
  if (allNumbers && NUMERIC_TYPES.has(type)) {
    if (inRange(EPOCH_MS_MIN, EPOCH_MS_MAX)) return asMillis(1);
    if (inRange(EPOCH_S_MIN, EPOCH_MS_MIN)) return asMillis(1000);
    return null;
  }
  return type === 'STRING' ? parseTimes(values) : null;
}

/** Text times as epoch millis, or null unless every non-null value parses. */
function parseTimes(values) {
  const parsed = values.map((v) => (typeof v === 'string' ? parseTimeText(v) : null));
  return parsed.every((ms, i) => ms !== null || values[i] === null) ? parsed : null;
}

/**
 * What to draw: {kind: 'line'|'bar', ...} or {kind: 'none', reason}.
 * A line when the first column is a time and the others numeric; bars when
 * it is a category (a GROUP BY key) and the others numeric.
 */
function planChart(table) {
  const names = table.dataSchema.columnNames || [];
  const types = table.dataSchema.columnDataTypes || [];
  const rows = table.rows || [];
  if (rows.length === 0) return { kind: 'none', reason: 'No chart: the query returned no rows.' };
  if (names.length < 2) {
    return { kind: 'none', reason: 'No chart: it needs a time or category column followed by numeric columns.' };
  }
  const notNumeric = names.slice(1).find((_, i) => !NUMERIC_TYPES.has(types[i + 1]));
  if (notNumeric !== undefined) {
    return { kind: 'none', reason: `No chart: column ${notNumeric} is not numeric (the columns after the first must be).` };
  }
  const first = rows.map((row) => row[0]);
  const series = names.slice(1).map((name, i) => ({ name, values: rows.map((row) => toNumber(row[i + 1])) }));
  const times = timeValues(names[0], types[0], first);
  if (times) return { kind: 'line', xName: names[0], xs: times, series };
  if (types[0] === 'STRING' || types[0] === 'BOOLEAN' || INTEGER_TYPES.has(types[0])) {
    return { kind: 'bar', xName: names[0], labels: first.map(cellText), series };
  }
  return {
    kind: 'none',
    reason: `No chart: the first column (${names[0]}, ${types[0]}) is neither a time nor a category.`,
  };
}

function showChart(table) {
  const area = $('chart-area');
  const plan = planChart(table);
  area.dataset.chart = plan.kind;
  area.hidden = false;
  if (plan.kind === 'none') {
    $('chart-note').textContent = plan.reason;
    return;
  }
  if (typeof uPlot === 'undefined') {
    $('chart-note').textContent = 'No chart: the chart library did not load.';
    return;
  }
  const build = plan.kind === 'line' ? lineChart : barChart;
  const { options, data, note } = build(plan, chartWidth());
  chart = new uPlot(options, data, $('chart'));
  $('chart-note').textContent = note || '';
}

function chartWidth() {
  return Math.max(320, $('chart-area').clientWidth);
}

/**
 * Scale keys per series: all on the left axis, unless the first series and
 * the others differ by more than 20x, when the others move to a right axis.
 */
function scaleKeys(series) {
  const peak = (s) => s.values.reduce((max, v) => Math.max(max, Math.abs(v ?? 0)), 0);
  const first = peak(series[0]) || 1;
  const apart = series.slice(1).some((s) => {
    const ratio = (peak(s) || 1) / first;
    return ratio > 20 || ratio < 1 / 20;
  });
  return series.map((_, i) => (i > 0 && apart ? 'y2' : 'y'));
}

/** The x axis as given, a left y axis, and a right one when a series uses scale y2. */
function axes(xAxis, keys, series) {
  const style = { stroke: '#6b6b76', grid: { stroke: '#ececf1', width: 1 }, ticks: { stroke: '#dcdce3', width: 1 } };
  const twoScales = keys.includes('y2');
  // With two scales each axis is labelled with its series' names.
  const label = (key) => (twoScales ? series.filter((_, i) => keys[i] === key).map((s) => s.name).join(', ') : undefined);
  const values = (u, ticks) => ticks.map(compactNumber);
  const list = [
    { ...style, ...xAxis },
    { ...style, scale: 'y', label: label('y'), values, size: 60 },
  ];
  if (twoScales) {
    list.push({ ...style, scale: 'y2', side: 1, grid: { show: false }, label: label('y2'), values, size: 60 });
  }
  return list;
}

/** Scales whose range starts at 0 (bars) or fits the data (lines). */
function yScales(keys, fromZero) {
  const range = (u, min, max) => uPlot.rangeNum(fromZero ? Math.min(0, min) : min, fromZero ? Math.max(0, max) : max, 0.1, true);
  const scales = { y: { range } };
  if (keys.includes('y2')) scales.y2 = { range };
  return scales;
}

function lineChart(plan, width) {
  // uPlot wants x ascending; rows without a time are left out.
  const order = plan.xs.map((x, i) => i).filter((i) => plan.xs[i] !== null).sort((a, b) => plan.xs[a] - plan.xs[b]);
  const xs = order.map((i) => plan.xs[i]);
  const data = [xs, ...plan.series.map((s) => order.map((i) => s.values[i]))];
  const keys = scaleKeys(plan.series);
  const options = {
    width,
    height: CHART_HEIGHT,
    ms: 1,
    tzDate: (ts) => uPlot.tzDate(new Date(ts), 'Etc/UTC'),
    scales: { x: { time: true }, ...yScales(keys, false) },
    axes: axes({}, keys, plan.series),
    series: [
      { label: `${plan.xName} (UTC)`, value: (u, v) => (v == null ? '' : formatTimestamp(v)) },
      ...plan.series.map((s, i) => ({
        label: s.name,
        scale: keys[i],
        stroke: PALETTE[i % PALETTE.length],
        width: 2,
        points: { show: xs.length <= 60 },
        value: (u, v) => (v == null ? '' : compactNumber(v)),
      })),
    ],
    cursor: { drag: { x: true, y: false } },
  };
  const dropped = plan.xs.length - xs.length;
  const note = dropped > 0 ? `${dropped} rows without a time are not drawn.` : '';
  return { options, data, note };
}

function barChart(plan, width) {
  const count = Math.min(plan.labels.length, MAX_BARS);
  const labels = plan.labels.slice(0, count);
  const xs = labels.map((_, i) => i);
  const data = [xs, ...plan.series.map((s) => s.values.slice(0, count))];
  const keys = scaleKeys(plan.series);
  // Bars of the series stand side by side within 80% of each category's slot.
  const slot = 0.8 / plan.series.length;
  const bars = (index) => uPlot.paths.bars({
    disp: {
      x0: { unit: 1, values: (u) => u.data[0].map((x) => x - 0.4 + index * slot) },
      size: { unit: 1, values: () => [slot * 0.92] },
    },
  });
  // Show at most one label per 48 px so they do not overlap.
  const step = Math.max(1, Math.ceil(count / Math.max(1, Math.floor(width / 48))));
  const xAxis = {
    splits: () => xs.filter((i) => i % step === 0),
    values: (u, splits) => splits.map((i) => shorten(labels[i] ?? '', 14)),
    grid: { show: false },
  };
  const options = {
    width,
    height: CHART_HEIGHT,
    scales: { x: { time: false, range: () => [-0.5, count - 0.5] }, ...yScales(keys, true) },
    axes: axes(xAxis, keys, plan.series),
    series: [
      { label: plan.xName, value: (u, v) => (v == null ? '' : labels[v] ?? '') },
      ...plan.series.map((s, i) => ({
        label: s.name,
        scale: keys[i],
        stroke: PALETTE[i % PALETTE.length],
        fill: `${PALETTE[i % PALETTE.length]}cc`,
        width: 0,
        paths: bars(i),
        points: { show: false },
        value: (u, v) => (v == null ? '' : compactNumber(v)),
      })),
    ],
    cursor: { drag: { x: false, y: false }, points: { show: false } },
  };
  const note = plan.labels.length > count ? `Showing the first ${count} of ${plan.labels.length} categories.` : '';
  return { options, data, note };
}

function shorten(text, length) {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}

let resizeTimer = 0;
function resizeChart() {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    if (chart) chart.setSize({ width: chartWidth(), height: CHART_HEIGHT });
  }, 100);
}

// ------------------------------------------------------------------ connectors

let connectorsGeneration = 0;

/**
 * {name: {info, status}} for every connector; `/connectors?expand=` answers
 * that at once, a server without `expand` answers a list of names.
 */
async function fetchConnectors() {
  const expanded = await getJson('/connectors?expand=status,info');
  if (!Array.isArray(expanded)) return expanded;
  const entries = await Promise.all(expanded.map(async (name) => {
    const path = `/connectors/${encodeURIComponent(name)}`;
    const [info, status] = await Promise.all([getJson(path), getJson(`${path}/status`)]);
    return [name, { info, status }];
  }));
  return Object.fromEntries(entries);
}

async function loadConnectors() {
  const generation = ++connectorsGeneration;
  const status = $('connectors-status');
  const table = $('connectors');
  const button = $('connectors-refresh');
  button.disabled = true;
  status.hidden = false;
  status.textContent = 'Loading…';
  try {
    const connectors = await fetchConnectors();
    if (generation !== connectorsGeneration) return;
    const names = Object.keys(connectors).sort();
    clear(table);
    table.hidden = names.length === 0;
    status.hidden = names.length > 0;
    status.textContent = 'No connectors. Create one with POST /connectors.';
    if (names.length > 0) table.append(connectorHead(), connectorRows(names, connectors));
  } catch (err) {
    if (generation !== connectorsGeneration) return;
    clear(table);
    table.hidden = true;
    status.textContent = `Connectors could not be listed: ${describeError(err)}`;
  } finally {
    if (generation === connectorsGeneration) button.disabled = false;
  }
}

function connectorHead() {
  const th = (text, className = '') => el('th', { text, className });
  return el('thead', {}, el('tr', {},
    th('Name'), th('Type'), th('State'), th('Rows written', 'num'), th('Files', 'num'), th('Lag'), th('Last error')));
}

/** "S3 sink" from io.confluent.connect.s3.S3SinkConnector or "s3". */
function connectorType(info, status) {
  const kind = status?.type || info?.type || 'sink';
  const connectorClass = info?.config?.['connector.class'] || '';
  if (/s3/i.test(connectorClass)) return `S3 ${kind}`;
  if (/jdbc/i.test(connectorClass)) return `JDBC ${kind}`;
  return connectorClass ? `${connectorClass.split('.').pop()} (${kind})` : kind;
}

function connectorState(status) {
  const task = (status?.tasks || [])[0];
  if (task && task.state === 'FAILED') {
    const badge = stateBadge('FAILED');
    badge.title = task.trace || '';
    return badge;
  }
  return stateBadge(status?.connector?.state);
}

function connectorLag(lag) {
  if (!lag) return '—';
  if (lag.segments === 0 && lag.rows === 0) return 'caught up';
  return `${plural(lag.segments, 'segment')} · ${plural(lag.rows, 'row')}`;
}

function connectorRows(names, connectors) {
  const body = el('tbody');
  for (const name of names) {
    const { info, status } = connectors[name];
    const error = status?.lastError;
    const errorCell = error
      ? el('td', { className: 'inline-error', text: error, title: status.lastErrorTimeMs ? `at ${formatTimestamp(status.lastErrorTimeMs)} UTC` : '' })
      : el('td', { className: 'muted', text: '—' });
    const files = typeof status?.filesWritten === 'number'
      ? `${formatCount(status.filesWritten)} (${formatBytes(status.bytesWritten)})` : '—';
    body.append(el('tr', { dataset: { connector: name } },
      el('td', { className: 'mono nowrap', text: name }),
      el('td', { className: 'nowrap', text: connectorType(info, status) }),
      el('td', { className: 'nowrap' }, connectorState(status)),
      numberCell(status?.rowsWritten),
      el('td', { className: 'num', text: files }),
      el('td', { className: 'nowrap', text: connectorLag(status?.lag), dataset: { field: 'lag' } }),
      errorCell));
  }
  return body;
}

// ------------------------------------------------------------------ cluster

let clusterGeneration = 0;

/** How long ago a node beat, as health: ok under 5 s, late after. */
function heartbeatBadge(ageMs) {
  const late = typeof ageMs === 'number' && ageMs >= 5_000;
  const badge = el('span', { className: `badge ${late ? 'warn' : 'ok'}`, text: late ? 'LATE' : 'HEALTHY' });
  badge.title = typeof ageMs === 'number' ? `last heartbeat ${(ageMs / 1000).toFixed(1)} s ago` : '';
  return badge;
}

function instanceRows(instances) {
  const th = (text, className = '') => el('th', { text, className });
  const head = el('thead', {}, el('tr', {},
    th('Instance'), th('Roles'), th('Health'), th('Segments', 'num'), th('URL')));
  const body = el('tbody');
  for (const info of instances) {
    body.append(el('tr', { dataset: { instance: info.instanceName } },
      el('td', { className: 'mono nowrap', text: info.instanceName }),
      el('td', { className: 'nowrap', text: (info.roles || []).join(', ') }),
      el('td', { className: 'nowrap' }, heartbeatBadge(info.heartbeatAgeMillis)),
      numberCell(info.numSegments),
      el('td', { className: 'mono nowrap muted', text: info.url || '' })));
  }
  return [head, body];
}

/**
 * One table's segments × servers: ONLINE where the external view says the
 * server has it loaded, "assigned" where it is placed but not loaded yet.
 */
function placementTable(typed, ideal, external) {
  const segments = [...new Set([...Object.keys(ideal || {}), ...Object.keys(external || {})])].sort();
  const servers = new Set();
  for (const view of [ideal, external]) {
    for (const holders of Object.values(view || {})) Object.keys(holders).forEach((s) => servers.add(s));
  }
  const columns = [...servers].sort();
  const wrap = el('div', { className: 'placement', dataset: { placement: typed } },
    el('h3', { className: 'mono', text: `${typed} · ${plural(segments.length, 'segment')}` }));
  if (segments.length === 0) return wrap;
  const head = el('thead', {}, el('tr', {}, el('th', { text: 'Segment' }),
    ...columns.map((server) => el('th', { className: 'mono', text: server }))));
  const body = el('tbody');
  for (const segment of segments) {
    const cells = columns.map((server) => {
      const loaded = external?.[segment]?.[server];
      const placed = ideal?.[segment]?.[server];
      if (loaded) return el('td', { dataset: { server } }, stateBadge(loaded));
      if (placed) return el('td', { className: 'muted', text: 'assigned', dataset: { server } });
      return el('td', { className: 'muted', text: '—', dataset: { server } });
    });
    body.append(el('tr', { dataset: { segment } }, el('td', { className: 'mono nowrap', text: segment }), ...cells));
  }
  wrap.append(el('div', { className: 'result-wrap' }, el('table', { className: 'grid' }, head, body)));
  return wrap;
}

async function loadCluster() {
  const generation = ++clusterGeneration;
  const status = $('cluster-status');
  const table = $('instances');
  const placements = $('placements');
  const button = $('cluster-refresh');
  button.disabled = true;
  status.hidden = false;
  status.textContent = 'Loading…';
  try {
    const { instances: names = [] } = await getJson('/instances');
    const instances = await Promise.all(names.map((name) => getJson(`/instances/${encodeURIComponent(name)}`)));
    const entries = await fetchTableEntries();
    const views = await Promise.all(entries.map(async (entry) => {
      const path = `/tables/${encodeURIComponent(entry.raw)}`;
      const query = `?type=${entry.type}`;
      const [ideal, external] = await Promise.all([
        getJson(`${path}/idealstate${query}`), getJson(`${path}/externalview${query}`)]);
      return placementTable(entry.typed, ideal[entry.type], external[entry.type]);
    }));
    if (generation !== clusterGeneration) return;
    clear(table);
    clear(placements);
    table.hidden = instances.length === 0;
    status.hidden = instances.length > 0;
    status.textContent = 'No live instances.';
    table.append(...instanceRows(instances));
    placements.append(...views);
  } catch (err) {
    if (generation !== clusterGeneration) return;
    clear(table);
    table.hidden = true;
    status.hidden = false;
    status.textContent = `The cluster could not be read: ${describeError(err)}`;
  } finally {
    if (generation === clusterGeneration) button.disabled = false;
  }
}

// ------------------------------------------------------------------ start

function isRunShortcut(event) {
  return event.key === 'Enter' && (event.ctrlKey || event.metaKey);
}

function start() {
  restoreEditor();
  const editor = $('sql');
  editor.addEventListener('keydown', (event) => {
    if (isRunShortcut(event)) {
      event.preventDefault();
      runQuery();
    }
  });
  editor.addEventListener('input', saveEditor);
  $('run').addEventListener('click', runQuery);
  $('tables-refresh').addEventListener('click', loadTables);
  $('connectors-refresh').addEventListener('click', loadConnectors);
  $('cluster-refresh').addEventListener('click', loadCluster);
  window.addEventListener('resize', resizeChart);
  $('sign-out').addEventListener('click', signOut);
  $('login').addEventListener('cancel', (event) => event.preventDefault());
  showSignedIn();
  loadTables();
  loadConnectors();
  loadCluster();
}

start();
