// Drives Gamay's web console in headless Chromium (Debian's, through
// playwright-core): `node tests/console/console.mjs <server url>`.
//
// The server must hold what tests/console.rs loads; the expected numbers come
// from the environment (CONSOLE_EXPECT_*). Each check prints `ok: ...`; the
// first failure prints `FAILED: ...` and exits 1, as does any console error,
// uncaught page error or request to another origin. CONSOLE_SCREENSHOT=<png>
// saves a full-page screenshot at the end. With CONSOLE_USER and
// CONSOLE_PASSWORD (a server with authentication), it first checks that the
// console asks for credentials, refuses a wrong password, and signs in.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
const STEP_TIMEOUT_MS = 30_000;
const TOTAL_TIMEOUT_MS = 180_000;

const base = (process.argv[2] || '').replace(/\/$/, '');
if (!/^https?:\/\//.test(base)) {
  console.error('usage: node tests/console/console.mjs http://127.0.0.1:PORT');
  process.exit(2);
}
const expected = {
  rows: Number(process.env.CONSOLE_EXPECT_ROWS || 600),
  segments: Number(process.env.CONSOLE_EXPECT_SEGMENTS || 2),
  realtimeRows: Number(process.env.CONSOLE_EXPECT_REALTIME_ROWS || 0),
  connector: process.env.CONSOLE_EXPECT_CONNECTOR || '',
};
const credentials = process.env.CONSOLE_USER
  ? { user: process.env.CONSOLE_USER, password: process.env.CONSOLE_PASSWORD || '' }
  : null;
const authorization = credentials
  ? `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`).toString('base64')}`
  : null;
const count = (n) => new Intl.NumberFormat('en-US').format(n);

class CheckFailed extends Error {}

function check(condition, message) {
  if (!condition) throw new CheckFailed(message);
}

function ok(message) {
  console.log(`ok: ${message}`);
}

/** What the API answers to `sql`, for comparison with what the page shows. */
async function apiQuery(sql) {
  const response = await fetch(`${base}/query/sql`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(authorization ? { Authorization: authorization } : {}) },
    body: JSON.stringify({ sql }),
  });
  return response.json();
}

/** Waits for `predicate(arg)` in the page; on timeout fails with `describe()`'s text. */
async function waitInPage(page, what, predicate, arg, describe) {
  try {
    await page.waitForFunction(predicate, arg, { timeout: STEP_TIMEOUT_MS, polling: 100 });
  } catch (err) {
    const state = describe ? await describe().catch(() => '') : '';
    throw new CheckFailed(`${what} (after ${STEP_TIMEOUT_MS / 1000} s)${state ? `; the page shows: ${state}` : ''}`);
  }
}

const text = (page, selector) => page.locator(selector).first().textContent({ timeout: 2_000 });
// What a person reads there, for failure messages (innerText keeps line breaks).
const visibleText = async (page, selector) =>
  (await page.locator(selector).first().innerText({ timeout: 2_000 })).replace(/\s*\n\s*/g, ' | ');

/** Runs `sql` from the editor with `keys` (Control+Enter, Meta+Enter); returns the query state line. */
async function runFromEditor(page, sql, keys = 'Control+Enter') {
  const finished = () => Number(document.getElementById('query-state').dataset.finished || 0);
  const before = await page.evaluate(finished);
  await page.fill('#sql', sql);
  await page.locator('#sql').press(keys);
  await waitInPage(page, `the query \`${sql}\` did not finish`,
    (previous) => Number(document.getElementById('query-state').dataset.finished || 0) > previous,
    before,
    () => visibleText(page, '#query-state'));
  return page.locator('#query-state').textContent();
}

/** The number of painted pixels on the chart's canvas. */
async function paintedPixels(page) {
  return page.evaluate(() => {
    const canvas = document.querySelector('#chart canvas');
    if (!canvas || canvas.width === 0 || canvas.height === 0) return 0;
    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let painted = 0;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) painted += 1;
    return painted;
  });
}

async function checkTables(page) {
  const card = '[data-table="trades_OFFLINE"]';
  await waitInPage(page, 'the table list does not show trades_OFFLINE',
    (selector) => document.querySelector(selector) !== null, card,
    () => visibleText(page, '#tables-panel'));
  ok('the table list shows trades_OFFLINE');
  await waitInPage(page, `trades_OFFLINE does not show ${count(expected.rows)} rows`,
    ([selector, rows]) => document.querySelector(`${selector} [data-stat="rows"]`)?.textContent === rows,
    [card, count(expected.rows)],
    () => visibleText(page, card));
  const segments = await text(page, `${card} [data-stat="segments"]`);
  check(segments === String(expected.segments), `trades_OFFLINE shows ${segments} segments, expected ${expected.segments}`);
  const size = await text(page, `${card} [data-stat="size"]`);
  check(/^\d+(\.\d)? (B|KiB|MiB|GiB)$/.test(size), `trades_OFFLINE shows its size as \`${size}\``);
  ok(`trades_OFFLINE shows ${count(expected.rows)} rows in ${segments} segments, ${size}`);
  const schema = await page.locator(`${card} .schema summary`).textContent({ timeout: STEP_TIMEOUT_MS });
  check(schema.includes('8 columns'), `the schema summary reads \`${schema}\``);
  await page.locator(`${card} .schema summary`).click();
  const columns = await page.locator(`${card} .schema tbody tr`).allTextContents();
  check(columns.some((row) => row.includes('traded') && row.includes('TIMESTAMP')), `schema rows: ${columns.join(' | ')}`);
  check(columns.some((row) => row.includes('tags') && row.includes('STRING[]')), `schema rows: ${columns.join(' | ')}`);
  ok('the schema lists its 8 columns with types');
}

async function checkRealtime(page) {
  if (!expected.realtimeRows) return;
  const card = '[data-table="stock_transactions_REALTIME"]';
  await waitInPage(page, 'stock_transactions_REALTIME shows no ingestion status',
    (selector) => document.querySelectorAll(`${selector} .ingestion tr[data-partition]`).length === 2, card,
    () => visibleText(page, card));
  const ingestion = await text(page, `${card} .ingestion`);
  check(ingestion.includes('console-trades'), `the ingestion status does not name the topic: ${ingestion}`);
  check(ingestion.includes('CONSUMING'), `the ingestion status is not CONSUMING: ${ingestion}`);
  const consumed = await page.evaluate((selector) => [...document.querySelectorAll(`${selector} .ingestion tr[data-partition]`)]
    .map((row) => Number(row.cells[5].textContent.replace(/,/g, '')))
    .reduce((a, b) => a + b, 0), card);
  check(consumed === expected.realtimeRows, `the partitions show ${consumed} rows consumed, expected ${expected.realtimeRows}`);
  await waitInPage(page, `stock_transactions_REALTIME does not show ${expected.realtimeRows} rows`,
    ([selector, rows]) => document.querySelector(`${selector} [data-stat="rows"]`)?.textContent === rows,
    [card, count(expected.realtimeRows)],
    () => visibleText(page, card));
  ok(`stock_transactions_REALTIME shows topic, 2 partitions and ${expected.realtimeRows} rows`);
}

async function checkGroupBy(page) {
  const sql = 'SELECT symbol, COUNT(*) AS trades, SUM(shares) AS shares FROM trades GROUP BY symbol ORDER BY symbol';
  const state = await runFromEditor(page, sql, 'Control+Enter');
  check(state.startsWith('Done'), `the GROUP BY ended with \`${state}\`; errors: ${await text(page, '#errors')}`);
  const api = await apiQuery(sql);
  const want = api.resultTable.rows.map((row) => row.map(String));
  check(want.length === 4, `the API answered ${want.length} groups`);
  const shown = await page.evaluate(() => [...document.querySelectorAll('#result tbody tr')]
    .map((row) => [...row.cells].map((cell) => cell.textContent)));
  check(JSON.stringify(shown) === JSON.stringify(want),
    `the result table shows ${JSON.stringify(shown)}, the API answered ${JSON.stringify(want)}`);
  const header = await page.locator('#result thead th').allTextContents();
  check(header[0] === 'symbolSTRING' && header[1].startsWith('trades'), `the header reads ${JSON.stringify(header)}`);
  ok(`Ctrl-Enter ran the GROUP BY: ${shown.length} rows as the API answers them`);
  const stat = (name) => text(page, `#stats [data-stat="${name}"]`);
  check(await stat('totalDocs') === count(expected.rows), `totalDocs shows ${await stat('totalDocs')}`);
  check(await stat('numDocsScanned') === count(expected.rows), `numDocsScanned shows ${await stat('numDocsScanned')}`);
  check(await stat('numSegmentsQueried') === String(expected.segments), `segments queried: ${await stat('numSegmentsQueried')}`);
  check(await stat('numSegmentsProcessed') === String(expected.segments), `segments processed: ${await stat('numSegmentsProcessed')}`);
  check(await stat('numSegmentsMatched') === String(expected.segments), `segments matched: ${await stat('numSegmentsMatched')}`);
  check(/^\d+ ms$/.test(await stat('timeUsedMs')), `timeUsedMs shows ${await stat('timeUsedMs')}`);
  ok('the stats show time, docs scanned, total docs and segments');
  const kind = await page.locator('#chart-area').getAttribute('data-chart');
  check(kind === 'bar', `the GROUP BY drew chart kind ${kind}: ${await text(page, '#chart-note')}`);
  const painted = await paintedPixels(page);
  check(painted > 1000, `the bar chart's canvas has ${painted} painted pixels`);
  const legend = await page.locator('#chart .u-legend').textContent();
  check(legend.includes('trades') && legend.includes('shares'), `the chart legend reads ${legend}`);
  ok(`uPlot drew a bar chart (${painted} pixels painted)`);
}

async function checkTimeSeries(page) {
  const sql = 'SELECT ts, price FROM trades ORDER BY ts LIMIT 120';
  const state = await runFromEditor(page, sql, 'Meta+Enter');
  check(state.startsWith('Done'), `the time query ended with \`${state}\``);
  check(await page.locator('#result tbody tr').count() === 120, 'the time query does not show 120 rows');
  const kind = await page.locator('#chart-area').getAttribute('data-chart');
  check(kind === 'line', `a ts/price result drew chart kind ${kind}: ${await text(page, '#chart-note')}`);
  const painted = await paintedPixels(page);
  check(painted > 500, `the line chart's canvas has ${painted} painted pixels`);
  ok(`Cmd-Enter ran a time series; uPlot drew a line chart (${painted} pixels painted)`);
  // TIMESTAMP values read as UTC times whatever the browser's zone (São Paulo here).
  await runFromEditor(page, 'SELECT traded, shares FROM trades WHERE id < 3 ORDER BY traded');
  const traded = await text(page, '#result tbody td');
  check(traded === '2026-11-01 03:00:00.123', `the first TIMESTAMP reads \`${traded}\``);
  check(await page.locator('#chart-area').getAttribute('data-chart') === 'line', 'a TIMESTAMP result drew no line chart');
  ok(`TIMESTAMP values read ${traded} (UTC) and chart as a line`);
  const sqlNoChart = 'SELECT symbol, note FROM trades LIMIT 5';
  await runFromEditor(page, sqlNoChart);
  const note = await text(page, '#chart-note');
  check(await page.locator('#chart-area').getAttribute('data-chart') === 'none' && note.includes('not numeric'),
    `a result without numbers shows chart note \`${note}\``);
  ok(`no chart for text columns: "${note}"`);
}

async function checkEscaping(page) {
  // Notes hold quotes, newlines and SQL; a literal holds markup.
  const sql = "SELECT id, note, '<img src=x onerror=alert(1)><b>bold</b>' AS markup FROM trades WHERE id IN (1, 2) ORDER BY id";
  const state = await runFromEditor(page, sql);
  check(state.startsWith('Done'), `the escaping query ended with \`${state}\`; errors: ${await text(page, '#errors')}`);
  const api = await apiQuery(sql);
  const shown = await page.evaluate(() => [...document.querySelectorAll('#result tbody tr')]
    .map((row) => [...row.cells].map((cell) => cell.textContent)));
  const want = api.resultTable.rows.map((row) => row.map(String));
  check(JSON.stringify(shown) === JSON.stringify(want), `shown ${JSON.stringify(shown)}, API ${JSON.stringify(want)}`);
  check(await page.locator('#result img, #result b').count() === 0, 'markup in a value became elements');
  ok('values with quotes, newlines and markup are shown as text');
}

async function checkErrors(page, allowFailedQuery) {
  allowFailedQuery(true);
  for (const sql of ['SELEC symbol FROM trades', 'SELECT * FROM no_such_table']) {
    const state = await runFromEditor(page, sql);
    check(state.startsWith('Failed'), `the bad query \`${sql}\` ended with \`${state}\``);
    const api = await apiQuery(sql);
    const exception = api.exceptions?.[0];
    check(exception, `the API answered no exception to \`${sql}\`: ${JSON.stringify(api)}`);
    check(await page.locator('#errors').isVisible(), 'the error box is hidden');
    const code = await text(page, '#errors .error-code');
    const message = await text(page, '#errors .error-message');
    check(code === String(exception.errorCode), `the error box shows code ${code}, the API answered ${exception.errorCode}`);
    check(message === exception.message, `the error box shows \`${message}\`, the API answered \`${exception.message}\``);
    const color = await page.locator('#errors').evaluate((node) => getComputedStyle(node).backgroundColor);
    check(color !== 'rgba(0, 0, 0, 0)', 'the error box has no background');
    check(!(await page.locator('#result').isVisible()), 'a failed query still shows a result table');
    ok(`\`${sql}\` shows error ${code} in the error box: ${message.split('\n')[0].slice(0, 80)}`);
  }
  allowFailedQuery(false);
}

async function checkTableClick(page) {
  await page.locator('[data-table="trades_OFFLINE"] .table-name').click();
  const sql = await page.inputValue('#sql');
  check(sql === 'SELECT * FROM trades LIMIT 10', `clicking trades_OFFLINE put \`${sql}\` in the editor`);
  await page.click('#run');
  await waitInPage(page, 'the Run button did not run the query',
    () => document.querySelectorAll('#result tbody tr').length === 10, undefined, () => visibleText(page, '#query-state'));
  ok('clicking a table name writes a query; the Run button runs it');
}

async function checkConnectors(page) {
  if (!expected.connector) return;
  const row = `tr[data-connector="${expected.connector}"]`;
  await waitInPage(page, `the connectors table does not list ${expected.connector}`,
    (selector) => document.querySelector(selector) !== null, row, () => visibleText(page, '#connectors-panel'));
  const cells = await page.locator(`${row} td`).allTextContents();
  check(cells[1] === 'S3 sink', `connector type: ${cells[1]}`);
  check(cells[2] === 'RUNNING', `connector state: ${cells[2]}`);
  check(cells[3] === count(expected.rows), `rows written: ${cells[3]}`);
  check(cells[5] === 'caught up', `lag: ${cells[5]}`);
  check(cells[6] === '—', `last error: ${cells[6]}`);
  ok(`the connectors table shows ${cells.join(' | ')}`);
}

/** The cluster panel: the node as an instance with its roles, and where each segment of trades is. */
async function checkCluster(page) {
  const row = 'tr[data-instance]';
  await waitInPage(page, 'the cluster panel lists no instance',
    (selector) => document.querySelector(selector) !== null, row, () => visibleText(page, '#cluster-panel'));
  const cells = await page.locator(`${row} td`).allTextContents();
  check(cells[1] === 'controller, broker, server', `instance roles: ${cells[1]}`);
  check(cells[2] === 'HEALTHY', `instance health: ${cells[2]}`);
  ok(`the cluster panel shows ${cells.slice(0, 4).join(' | ')}`);
  const placed = '[data-placement="trades_OFFLINE"] tbody tr';
  await waitInPage(page, 'the cluster panel does not place trades_OFFLINE\'s segments',
    (selector) => document.querySelectorAll(selector).length === 2, placed, () => visibleText(page, '#cluster-panel'));
  const states = await page.locator(`${placed} td[data-server]`).allTextContents();
  check(states.length === 2 && states.every((state) => state === 'ONLINE'), `segment states: ${states.join(', ')}`);
  ok('the cluster panel shows each segment of trades_OFFLINE loaded on its server');
}

async function checkRefresh(page) {
  await page.click('#tables-refresh');
  await page.click('#connectors-refresh');
  await waitInPage(page, 'the tables did not come back after Refresh',
    (rows) => document.querySelector('[data-table="trades_OFFLINE"] [data-stat="rows"]')?.textContent === rows
      && !document.getElementById('tables-refresh').disabled
      && !document.getElementById('connectors-refresh').disabled,
    count(expected.rows), () => visibleText(page, '#tables-panel'));
  ok('the refresh buttons reload tables and connectors');
}

/** The sign-in form: shown for the first 401, a wrong password refused in it, the right one accepted. */
async function checkSignIn(page) {
  await waitInPage(page, 'the sign-in form is not shown', () => document.getElementById('login').open);
  ok('the console asks for credentials');
  await page.fill('#login-user', credentials.user);
  await page.fill('#login-password', `${credentials.password}-wrong`);
  await page.click('#login-submit');
  await waitInPage(page, 'a wrong password is not refused in the form',
    () => !document.getElementById('login-error').hidden
      && document.getElementById('login-error').textContent.includes('Wrong user name or password'),
    undefined, () => page.$eval('#login-error', (e) => e.textContent));
  ok('a wrong password is refused');
  await page.fill('#login-password', credentials.password);
  await page.click('#login-submit');
  await waitInPage(page, 'the right password does not sign in', () => !document.getElementById('login').open
    && !document.getElementById('sign-out').hidden);
  ok(`signed in as ${credentials.user}`);
}

async function main() {
  const profile = mkdtempSync(join(tmpdir(), 'gamay-console-'));
  const problems = [];
  let failedQueryAllowed = false;
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
    viewport: { width: 1440, height: 1000 },
    timezoneId: 'America/Sao_Paulo',
  });
  try {
    const page = context.pages()[0] || await context.newPage();
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      const where = message.location()?.url || '';
      // A failing query answers 4xx, which Chromium logs; expected while checking errors.
      const expectedFailure = (failedQueryAllowed && where.endsWith('/query/sql')
        && message.text().startsWith('Failed to load resource'))
        // The 401s that make the console ask for credentials.
        || (credentials && message.text().includes('status of 401'));
      if (!expectedFailure) problems.push(`console error: ${message.text()} (${where})`);
    });
    page.on('request', (request) => {
      const url = request.url();
      if (!url.startsWith(`${base}/`) && !url.startsWith('data:')) problems.push(`request to another origin: ${url}`);
    });
    const response = await page.goto(`${base}/`, { waitUntil: 'load' });
    check(response.ok(), `GET / answered ${response.status()}`);
    check((await page.title()) === 'Gamay console', `the page title is ${await page.title()}`);
    ok('GET / serves the console');
    await waitInPage(page, 'the health badge does not say the server is up',
      () => document.getElementById('health').textContent === 'server up');
    if (credentials) await checkSignIn(page);

    await checkTables(page);
    await checkRealtime(page);
    await checkConnectors(page);
    await checkCluster(page);
    await checkGroupBy(page);
    await checkTimeSeries(page);
    await checkEscaping(page);
    await checkErrors(page, (allowed) => { failedQueryAllowed = allowed; });
    await checkTableClick(page);
    await checkRefresh(page);

    if (process.env.CONSOLE_SCREENSHOT) {
      await runFromEditor(page, 'SELECT symbol, COUNT(*) AS trades, SUM(shares) AS shares FROM trades GROUP BY symbol ORDER BY symbol');
      await page.screenshot({ path: process.env.CONSOLE_SCREENSHOT, fullPage: true });
      ok(`screenshot saved to ${process.env.CONSOLE_SCREENSHOT}`);
    }
    check(problems.length === 0, `the browser reported:\n  ${problems.join('\n  ')}`);
    ok('no console errors, page errors or requests to other origins');
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

const deadline = setTimeout(() => {
  console.error(`FAILED: the console checks took longer than ${TOTAL_TIMEOUT_MS / 1000} s`);
  process.exit(1);
}, TOTAL_TIMEOUT_MS);

try {
  await main();
  clearTimeout(deadline);
  console.log('console: all checks passed');
} catch (err) {
  clearTimeout(deadline);
  console.error(`FAILED: ${err instanceof CheckFailed ? err.message : err.stack || err}`);
  process.exit(1);
}
