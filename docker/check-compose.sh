#!/usr/bin/env bash
# Checks the compose files without a Docker engine:
#   - `docker compose config -q` when the compose plugin is installed;
#   - always, a structural check in Python (PyYAML): every service has an
#     image or a build whose Dockerfile exists, depends_on names defined
#     services (and service_healthy ones have a healthcheck), the named
#     volumes used are declared, no host port is published twice;
#   - docker/docker-compose.yml (the scenario): the host ports
#     docs/compose.md's walkthrough uses are published, and the stack agrees
#     with the JSON the walkthrough posts (topic, brokers, bucket, database,
#     credentials);
#   - docker/docker-compose.cluster.yml (a cluster): one controller, two
#     brokers (their ports published) and three servers, each with --role,
#     --node-id, --advertise-url naming itself, --metastore naming the
#     postgres service with its user, password and database, --deep-store
#     s3:// in a bucket minio-init makes, AWS_* variables that reach MinIO
#     with its credentials and a healthcheck; every flag exists in `gamay
#     serve --help` (the built binary's when it is newer than src/main.rs,
#     else src/main.rs's ServeArgs) and is documented in docs/cluster.md;
#     docs/compose.md's cluster walkthrough uses published ports and files
#     that exist.
# Usage: docker/check-compose.sh [COMPOSE_FILE]   (default: both files)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ $# -eq 0 ]; then
    "$0" "$root/docker/docker-compose.yml"
    exec "$0" "$root/docker/docker-compose.cluster.yml"
fi
compose=$1
[ -f "$compose" ] || { echo "check-compose: $compose does not exist" >&2; exit 1; }

if docker compose version >/dev/null 2>&1; then
    echo "check-compose: docker compose -f $(basename "$compose") config -q"
    docker compose -f "$compose" config -q
else
    echo "check-compose: no docker compose plugin; checking the structure of $(basename "$compose") only"
fi

# The flags `gamay serve` takes, from a built binary that is not older
# than src/main.rs; empty (the Python reads src/main.rs) otherwise.
serve_help=""
for bin in "${GAMAY_BIN:-}" "$root/target/debug/gamay" "$root/target/release/gamay"; do
    if [ -n "$bin" ] && [ -x "$bin" ] && [ ! "$root/src/main.rs" -nt "$bin" ]; then
        serve_help=$("$bin" serve --help 2>/dev/null || true)
        [ -n "$serve_help" ] && break
    fi
done
export GAMAY_SERVE_HELP="$serve_help"

python=python3
if ! python3 -c 'import yaml' 2>/dev/null; then
    venv="$root/target/compose-venv"
    if ! "$venv/bin/python" -c 'import yaml' 2>/dev/null; then
        echo "check-compose: installing PyYAML into $venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check pyyaml
    fi
    python="$venv/bin/python"
fi

"$python" - "$root" "$compose" <<'PY'
import json
import os
import re
import sys

import yaml

root, compose_path = sys.argv[1], os.path.abspath(sys.argv[2])
compose_dir = os.path.dirname(compose_path)
docker_dir = os.path.join(root, "docker")
name = os.path.relpath(compose_path, root)
if name.startswith(".."):
    name = compose_path
problems = []


def problem(message):
    problems.append(message)


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as err:
        problem(f"{os.path.relpath(path, root)}: cannot be read as JSON: {err}")
        return None


try:
    with open(compose_path) as f:
        doc = yaml.safe_load(f)
except yaml.YAMLError as err:
    sys.exit(f"check-compose: {name} is not valid YAML: {err}")
if not isinstance(doc, dict) or not isinstance(doc.get("services"), dict) or not doc["services"]:
    sys.exit(f"check-compose: {name} has no `services` mapping")
services = doc["services"]
declared_volumes = doc.get("volumes") or {}
if not isinstance(declared_volumes, dict):
    problem(f"{name}: top-level `volumes` must be a mapping of volume names")
    declared_volumes = {}


def env_of(service):
    env = (services.get(service) or {}).get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) for item in env)
        return {pair[0]: (pair[1] if len(pair) > 1 else "") for pair in pairs}
    return {key: "" if value is None else str(value) for key, value in env.items()}


def words(value):
    """A command or entrypoint as one list of words."""
    if value is None:
        return []
    if isinstance(value, str):
        return value.split()
    return [w for item in value for w in str(item).split()]


host_ports = {}
for svc, spec in services.items():
    if not isinstance(spec, dict):
        problem(f"{name}: service `{svc}` must be a mapping")
        continue
    if "image" not in spec and "build" not in spec:
        problem(f"{name}: service `{svc}` has neither `image` nor `build`")
    build = spec.get("build")
    if build is not None:
        if isinstance(build, str):
            build = {"context": build}
        context = os.path.normpath(os.path.join(compose_dir, build.get("context", ".")))
        dockerfile = os.path.join(context, build.get("dockerfile", "Dockerfile"))
        if not os.path.isdir(context):
            problem(f"{name}: service `{svc}` builds from context {context}, which is not a directory")
        elif not os.path.isfile(dockerfile):
            problem(f"{name}: service `{svc}` builds with {dockerfile}, which does not exist")
    depends = spec.get("depends_on") or {}
    if isinstance(depends, list):
        depends = {dep: {} for dep in depends}
    for dep, how in depends.items():
        if dep not in services:
            problem(f"{name}: service `{svc}` depends on `{dep}`, which is not a service")
            continue
        condition = (how or {}).get("condition", "service_started")
        if condition not in ("service_started", "service_healthy", "service_completed_successfully"):
            problem(f"{name}: service `{svc}` waits for `{dep}` with unknown condition `{condition}`")
        if condition == "service_healthy" and "healthcheck" not in (services[dep] or {}):
            problem(f"{name}: service `{svc}` waits for `{dep}` to be healthy, but `{dep}` has no healthcheck")
    for volume in spec.get("volumes") or []:
        source = volume.get("source") if isinstance(volume, dict) else str(volume).split(":")[0]
        if source and not source.startswith((".", "/", "~", "$")) and source not in declared_volumes:
            problem(f"{name}: service `{svc}` mounts volume `{source}`, which is not declared under top-level `volumes`")
    for port in spec.get("ports") or []:
        text = str(port.get("published", "")) if isinstance(port, dict) else str(port)
        parts = text.split("/")[0].split(":")
        published = parts[-2] if len(parts) >= 2 else None
        if published:
            if published in host_ports:
                problem(f"{name}: host port {published} is published by both `{host_ports[published]}` and `{svc}`")
            host_ports[published] = svc

walkthrough_path = os.path.join(root, "docs", "compose.md")
try:
    walkthrough = open(walkthrough_path).read()
except OSError:
    walkthrough = ""
# The cluster's walkthrough is the section of docs/compose.md from this
# heading on; the scenario's is the page before it.
CLUSTER_HEADING = r"^## A cluster\b"
def serve_flags():
    """The long flags of `gamay serve`: from its --help when a current
    binary was found, else from src/main.rs's ServeArgs."""
    help_text = os.environ.get("GAMAY_SERVE_HELP", "")
    if help_text:
        return set(re.findall(r"(--[a-z][a-z0-9-]*)", help_text)), "`gamay serve --help`"
    source = open(os.path.join(root, "src", "main.rs")).read()
    body = re.search(r"struct ServeArgs \{(.*?)\n\}", source, re.S)
    flags = {"--help"}
    if body:
        pending = None
        for line in body.group(1).split("\n"):
            line = line.strip()
            if line.startswith("#[arg("):
                named = re.search(r'long\s*=\s*"([a-z0-9-]+)"', line)
                pending = named.group(1) if named else "" if "long" in line else None
            field = re.match(r"([a-z_][a-z0-9_]*)\s*:", line)
            if field and pending is not None:
                flags.add("--" + (pending or field.group(1).replace("_", "-")))
                pending = None
    return flags, "src/main.rs's ServeArgs"


def flag_value(command, flag):
    for i, word in enumerate(command[:-1]):
        if word == flag:
            return command[i + 1]
    return None


def check_cluster():
    known, source = serve_flags()
    documented = ""
    try:
        documented = open(os.path.join(root, "docs", "cluster.md")).read()
    except OSError:
        problem("docs/cluster.md does not exist: the cluster's flags must be documented there")
    made = set()
    for spec in services.values():
        made.update(re.findall(r"\bmc mb\b[^&;|]*?\blocal/([a-z0-9.-]+)", " ".join(words((spec or {}).get("command")))))
    postgres_env = env_of("postgres")
    minio_env = env_of("minio")
    roles = {}
    node_ids = {}
    for svc, spec in services.items():
        command = words((spec or {}).get("command"))
        if not command or command[0] != "serve":
            continue
        where = f"{name}: service `{svc}`"
        for word in command:
            flag = word.split("=", 1)[0]
            if flag.startswith("--") and flag not in known:
                problem(f"{where} passes {flag}, which is not among the flags of {source}")
            if flag.startswith("--") and flag not in ("--data-dir", "--listen", "--insecure") and f"`{flag}" not in documented:
                problem(f"{where} passes {flag}, which docs/cluster.md does not document")
        role = flag_value(command, "--role")
        if role not in ("controller", "broker", "server", "all"):
            problem(f"{where} has --role `{role}`; give controller, broker, server or all")
        roles.setdefault(role, []).append(svc)
        node_id = flag_value(command, "--node-id")
        if not node_id:
            problem(f"{where} has no --node-id (a name stable across restarts)")
        elif node_id in node_ids:
            problem(f"{where} has --node-id `{node_id}`, as `{node_ids[node_id]}` does")
        else:
            node_ids[node_id] = svc
        listen = flag_value(command, "--listen") or "127.0.0.1:9000"
        advertised = flag_value(command, "--advertise-url") or ""
        if advertised != f"http://{svc}:{listen.rsplit(':', 1)[-1]}":
            problem(f"{where} advertises `{advertised}`, not where the others reach it (http://{svc}:{listen.rsplit(':', 1)[-1]})")
        metastore = flag_value(command, "--metastore") or env_of(svc).get("GAMAY_METASTORE", "")
        m = re.match(r"^postgres(?:ql)?://([^:@/]+):([^@/]*)@([^:/]+)(?::\d+)?/([^?]+)", metastore)
        if not m:
            problem(f"{where} has no --metastore postgres://USER:PASSWORD@HOST:PORT/DB")
        else:
            user, password, host, db = m.groups()
            if host not in services:
                problem(f"{where}: --metastore host `{host}` is not a service of {name}")
            if (user, password, db) != (postgres_env.get("POSTGRES_USER"), postgres_env.get("POSTGRES_PASSWORD"), postgres_env.get("POSTGRES_DB")):
                problem(f"{where}: --metastore's user, password or database is not the postgres service's POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB")
        deep = flag_value(command, "--deep-store") or env_of(svc).get("GAMAY_DEEP_STORE", "")
        d = re.match(r"^s3://([a-z0-9.-]+)(/.*)?$", deep)
        if not d:
            problem(f"{where} has no --deep-store s3://BUCKET/PREFIX")
        elif d.group(1) not in made:
            problem(f"{where}: --deep-store bucket `{d.group(1)}` is not made with `mc mb` (made: {', '.join(sorted(made)) or 'none'})")
        env = env_of(svc)
        if env.get("AWS_ACCESS_KEY_ID") != minio_env.get("MINIO_ROOT_USER") or env.get("AWS_SECRET_ACCESS_KEY") != minio_env.get("MINIO_ROOT_PASSWORD"):
            problem(f"{where}: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are not the minio service's MINIO_ROOT_USER / MINIO_ROOT_PASSWORD")
        endpoint = env.get("AWS_ENDPOINT") or env.get("AWS_ENDPOINT_URL") or ""
        if re.sub(r"^https?://", "", endpoint).split("/")[0].rsplit(":", 1)[0] not in services:
            problem(f"{where}: AWS_ENDPOINT `{endpoint}` does not name a service of {name}")
        if endpoint.startswith("http://") and env.get("AWS_ALLOW_HTTP") != "true":
            problem(f"{where}: AWS_ENDPOINT is http:// but AWS_ALLOW_HTTP is not `true`")
        if "healthcheck" not in spec:
            problem(f"{where} has no healthcheck")
    for role, least in (("controller", 1), ("broker", 2), ("server", 3)):
        if len(roles.get(role, [])) < least:
            problem(f"{name}: {len(roles.get(role, []))} services with --role {role}; the cluster runs at least {least}")
    for svc in roles.get("broker", []):
        if svc not in host_ports.values():
            problem(f"{name}: broker `{svc}` publishes no port: clients could not reach it")
    section = re.search(CLUSTER_HEADING + r".*", walkthrough, re.M | re.S)
    if not section:
        problem("docs/compose.md: no `## A cluster` section walking through " + name)
    else:
        text = section.group(0)
        if os.path.basename(compose_path) not in text:
            problem(f"docs/compose.md's cluster section does not name {os.path.basename(compose_path)}")
        for port in sorted(set(re.findall(r"localhost:(\d+)", text)), key=int):
            if port not in host_ports:
                problem(f"docs/compose.md's cluster walkthrough uses localhost:{port}, which {name} does not publish")
        for path in sorted(set(re.findall(r"@((?:docker|schemas|tables)/[\w./-]+)", text))):
            if not os.path.isfile(os.path.join(root, path)):
                problem(f"docs/compose.md's cluster walkthrough posts {path}, which does not exist")
        for svc in sorted(set(re.findall(r"\b(?:exec|logs|stop|start|kill|restart)\s+([a-z][a-z0-9-]*)", text))):
            if svc not in services:
                problem(f"docs/compose.md's cluster walkthrough names service `{svc}`, which {name} does not define")
    if problems:
        for p in problems:
            print(f"check-compose: {p}", file=sys.stderr)
        sys.exit(f"check-compose: {len(problems)} problem(s) in {name}")
    counts = ", ".join(f"{r}s: {len(roles.get(r, []))}" for r in ("controller", "broker", "server"))
    print(f"check-compose: {name}: {len(services)} services ({counts}), host ports {', '.join(sorted(host_ports, key=int))}; flags checked against {source} and docs/cluster.md")


if os.path.basename(compose_path) == "docker-compose.cluster.yml":
    check_cluster()
    sys.exit(0)

# The ports docs/compose.md's walkthrough uses must be published.
match = re.search(r"^# Docker compose\b.*?(?=" + CLUSTER_HEADING + r"|\Z)", walkthrough, re.M | re.S)
if not match:
    problem("docs/compose.md: no `# Docker compose` page to take the walkthrough's ports from")
else:
    for port in sorted(set(re.findall(r"localhost:(\d+)", match.group(0))), key=int):
        if port not in host_ports:
            problem(f"docs/compose.md's walkthrough uses localhost:{port}, which {name} does not publish")
    # Connector JSON shown in the walkthrough must be that of docker/NAME.json.
    for block in re.findall(r"\n\n((?:    .*\n|\n)+)", match.group(0) + "\n"):
        text = "\n".join(line[4:] for line in block.split("\n")).strip()
        if not text.startswith("{"):
            continue
        try:
            shown = json.loads(text)
        except ValueError as err:
            problem(f"docs/compose.md's walkthrough shows JSON that does not parse: {err}")
            continue
        path = os.path.join(docker_dir, f"{shown.get('name')}.json")
        if not os.path.isfile(path):
            problem(f"docs/compose.md's walkthrough shows connector `{shown.get('name')}`, but there is no docker/{shown.get('name')}.json")
        elif load_json(path) != shown:
            problem(f"docs/compose.md's walkthrough shows connector `{shown.get('name')}` differently from docker/{shown.get('name')}.json")
if host_ports.get("9000") != "gamay":
    problem(f"{name}: Gamay's port 9000 must be published by the `gamay` service (it is {host_ports.get('9000') or 'not published'})")

# The stack against the JSON the walkthrough posts.
table = load_json(os.path.join(docker_dir, "stock_transactions_realtime.json"))
s3 = load_json(os.path.join(docker_dir, "s3-sink-connector.json"))
jdbc = load_json(os.path.join(docker_dir, "jdbc-sink-connector.json"))
gamay_env = env_of("gamay")

topic = None
if table:
    try:
        stream = table["ingestionConfig"]["streamIngestionConfig"]["streamConfigMaps"][0]
        topic = stream["stream.kafka.topic.name"]
        brokers = stream["stream.kafka.broker.list"]
    except (KeyError, IndexError, TypeError):
        problem("docker/stock_transactions_realtime.json: no stream.kafka.topic.name / stream.kafka.broker.list in its first streamConfigMaps entry")
        brokers = ""
    for broker in filter(None, brokers.split(",")):
        host = broker.strip().rsplit(":", 1)[0]
        if host not in services:
            problem(f"docker/stock_transactions_realtime.json: broker `{broker}` is not a service of {name} (Gamay reaches Kafka inside the compose network)")
        elif f"//{broker.strip()}" not in env_of(host).get("KAFKA_ADVERTISED_LISTENERS", ""):
            problem(f"docker/stock_transactions_realtime.json: broker `{broker}` is not among `{host}`'s KAFKA_ADVERTISED_LISTENERS")

created_topics = set()
for svc, spec in services.items():
    command = words((spec or {}).get("entrypoint")) + words((spec or {}).get("command"))
    if any(w.endswith("kafka-topics.sh") for w in command) and "--create" in command:
        for i, w in enumerate(command[:-1]):
            if w == "--topic":
                created_topics.add(command[i + 1])
if topic is not None and topic not in created_topics:
    found = ", ".join(sorted(created_topics)) or "none"
    problem(f"{name}: the table consumes topic `{topic}` (docker/stock_transactions_realtime.json) but the topics created with kafka-topics.sh --create are: {found}")

for path, connector in (("docker/s3-sink-connector.json", s3), ("docker/jdbc-sink-connector.json", jdbc)):
    if not connector:
        continue
    config = connector.get("config", {})
    if topic is not None and config.get("topics") != topic:
        problem(f"{path}: topics is `{config.get('topics')}` but the table consumes `{topic}`")
    for key, value in config.items():
        for var in re.findall(r"\$\{env:([^}:]+)\}", str(value)):
            if var not in gamay_env:
                problem(f"{path}: {key} reads ${{env:{var}}}, which the `gamay` service's environment does not set")

minio_env = env_of("minio")
if s3:
    config = s3.get("config", {})
    bucket = config.get("s3.bucket.name")
    made = set()
    for spec in services.values():
        made.update(re.findall(r"\bmc mb\b[^&;|]*?\blocal/([a-z0-9.-]+)", " ".join(words((spec or {}).get("command")))))
    if bucket not in made:
        problem(f"{name}: the S3 connector writes to bucket `{bucket}` but the buckets made with `mc mb` are: {', '.join(sorted(made)) or 'none'}")
    url = config.get("store.url", "")
    host = re.sub(r"^https?://", "", url).split("/")[0].rsplit(":", 1)[0]
    if host not in services:
        problem(f"docker/s3-sink-connector.json: store.url `{url}` does not name a service of {name}")
    for key, minio_key in (("aws.access.key.id", "MINIO_ROOT_USER"), ("aws.secret.access.key", "MINIO_ROOT_PASSWORD")):
        ref = re.fullmatch(r"\$\{env:([^}:]+)\}", config.get(key, ""))
        value = gamay_env.get(ref.group(1)) if ref else config.get(key)
        if value != minio_env.get(minio_key):
            problem(f"docker/s3-sink-connector.json: {key} does not resolve to the minio service's {minio_key}")

postgres_env = env_of("postgres")
if jdbc:
    config = jdbc.get("config", {})
    url = config.get("connection.url", "")
    m = re.match(r"^jdbc:postgresql://([^:/]+)(?::(\d+))?/([^?]+)", url)
    if not m:
        problem(f"docker/jdbc-sink-connector.json: connection.url `{url}` is not jdbc:postgresql://HOST:PORT/DB")
    else:
        if m.group(1) not in services:
            problem(f"docker/jdbc-sink-connector.json: connection.url host `{m.group(1)}` is not a service of {name}")
        if m.group(3) != postgres_env.get("POSTGRES_DB"):
            problem(f"docker/jdbc-sink-connector.json: connection.url names database `{m.group(3)}` but the postgres service creates `{postgres_env.get('POSTGRES_DB')}`")
    if config.get("connection.user") != postgres_env.get("POSTGRES_USER"):
        problem(f"docker/jdbc-sink-connector.json: connection.user is not the postgres service's POSTGRES_USER")
    ref = re.fullmatch(r"\$\{env:([^}:]+)\}", config.get("connection.password", ""))
    password = gamay_env.get(ref.group(1)) if ref else config.get("connection.password")
    if password != postgres_env.get("POSTGRES_PASSWORD"):
        problem("docker/jdbc-sink-connector.json: connection.password does not resolve to the postgres service's POSTGRES_PASSWORD")

if problems:
    for p in problems:
        print(f"check-compose: {p}", file=sys.stderr)
    sys.exit(f"check-compose: {len(problems)} problem(s) in {name}")
print(f"check-compose: {name}: {len(services)} services, host ports {', '.join(sorted(host_ports, key=int))}; topic `{topic}` created; the walkthrough's JSON matches the stack")
PY
