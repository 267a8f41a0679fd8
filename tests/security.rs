//! The real `gamay serve` process facing hostile or careless callers:
//! authentication from the command line to the wire, refusing to serve
//! unauthenticated on a reachable address, and connections that send
//! nothing or dribble their headers.

#[path = "process/mod.rs"]
mod process;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(data_dir: &Path, extra: &[&str]) -> Server {
        Server::start_on(data_dir, "127.0.0.1:0", extra)
    }

    fn start_on(data_dir: &Path, listen: &str, extra: &[&str]) -> Server {
        let (child, url) = process::serve(data_dir, listen, extra);
        Server { child, url }
    }

    fn addr(&self) -> String {
        self.url.trim_start_matches("http://").to_string()
    }

    fn get(&self, path: &str, authorization: Option<&str>) -> (u16, String) {
        get(&self.url, path, authorization)
    }
}

fn get(url: &str, path: &str, authorization: Option<&str>) -> (u16, String) {
    {
        let mut request = ureq::get(&format!("{url}{path}")).timeout(Duration::from_secs(20));
        if let Some(value) = authorization {
            request = request.set("Authorization", value);
        }
        match request.call() {
            Ok(response) => (response.status(), response.into_string().unwrap()),
            Err(ureq::Error::Status(status, response)) => (status, response.into_string().unwrap()),
            Err(err) => panic!("GET {path}: {err}"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn gamay(args: &[&str], stdin: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gamay"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "gamay {args:?} failed");
    String::from_utf8(output.stdout).unwrap()
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

#[test]
fn auth_file_from_the_command_line_guards_the_server() {
    let hash = gamay(&["auth", "hash-password"], "correct horse\n");
    let hash = hash.trim();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    let token_lines = gamay(&["auth", "token"], "");
    let mut lines = token_lines.lines();
    let (token, digest) = (lines.next().unwrap(), lines.next().unwrap());

    let dir = tempfile::tempdir().unwrap();
    let auth_file = dir.path().join("auth.json");
    let file = serde_json::json!({"principals": [
        {"name": "admin", "password": hash},
        {"name": "scraper", "token": digest, "permissions": ["METRICS"]},
    ]});
    std::fs::write(&auth_file, file.to_string()).unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &["--auth-file", auth_file.to_str().unwrap()]);

    assert_eq!(server.get("/health", None).0, 200);
    let (status, body) = server.get("/tables", None);
    assert_eq!(status, 401, "{body}");
    assert_eq!(
        server
            .get("/tables", Some(&basic("admin", "correct horse")))
            .0,
        200
    );
    assert_eq!(
        server
            .get("/tables", Some(&basic("admin", "Correct horse")))
            .0,
        401
    );
    let bearer = format!("Bearer {token}");
    assert_eq!(server.get("/metrics", Some(&bearer)).0, 200);
    assert_eq!(server.get("/tables/x", Some(&bearer)).0, 403);
}

#[test]
fn a_reachable_address_needs_auth_or_insecure() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_gamay"))
        .args(["serve", "--listen", "0.0.0.0:0", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("without authentication"), "{stderr}");
    assert!(stderr.contains("--auth-file"), "{stderr}");

    let server = Server::start_on(dir.path(), "0.0.0.0:0", &["--insecure"]);
    let port = server.addr().rsplit(':').next().unwrap().to_string();
    let local = format!("http://127.0.0.1:{port}");
    assert_eq!(get(&local, "/health", None).0, 200);
}

/// True once the peer has closed `stream` (a read returns end of file or a reset).
fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 512];
    while started.elapsed() < limit {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(err)
                if err.kind() == std::io::ErrorKind::WouldBlock
                    || err.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return true,
        }
    }
    false
}

#[test]
fn silent_and_slow_connections_are_closed_and_capped() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &["--max-connections", "8", "--header-timeout", "1"],
    );
    // Every slot taken: four connections that send nothing, four that
    // send half a request line.
    let mut idle: Vec<TcpStream> = (0..8)
        .map(|i| {
            let mut stream = TcpStream::connect(server.addr()).unwrap();
            if i % 2 == 1 {
                stream.write_all(b"GET /health HT").unwrap();
            }
            stream
        })
        .collect();
    // A real request is still answered: the silent ones lose their slots
    // at the header timeout instead of holding them.
    let (status, body) = server.get("/health", None);
    assert_eq!((status, body.as_str()), (200, "OK"));
    for stream in &mut idle {
        assert!(
            closed_within(stream, Duration::from_secs(30)),
            "an idle connection was kept open"
        );
    }
    // A keep-alive connection that goes quiet after a request is closed too.
    let mut kept = TcpStream::connect(server.addr()).unwrap();
    kept.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 256];
    let n = kept.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    assert!(closed_within(&mut kept, Duration::from_secs(30)));
}

/// A self-signed certificate for 127.0.0.1 and its key, made by openssl.
fn self_signed(dir: &Path, name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let cert = dir.join(format!("{name}.pem"));
    let key = dir.join(format!("{name}.key"));
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN={name}"),
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .expect("openssl (Debian's openssl package) makes the test certificates");
    assert!(status.success());
    (cert, key)
}

/// `curl` over HTTPS trusting only `ca`: the status, or `None` if TLS failed.
fn curl_https(url: &str, ca: &Path) -> Option<u16> {
    let output = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "10",
            "--cacert",
        ])
        .arg(ca)
        .arg(url)
        .output()
        .expect("curl");
    let code: u16 = String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .ok()?;
    (output.status.success() && code != 0).then_some(code)
}

#[test]
fn https_serves_and_reloads_its_certificate_on_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let (first, first_key) = self_signed(dir.path(), "first");
    let (second, second_key) = self_signed(dir.path(), "second");
    let cert = dir.path().join("server.pem");
    let key = dir.path().join("server.key");
    std::fs::copy(&first, &cert).unwrap();
    std::fs::copy(&first_key, &key).unwrap();
    let data = dir.path().join("data");
    let server = Server::start(
        &data,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    assert!(server.url.starts_with("https://"), "{}", server.url);
    let health = format!("{}/health", server.url);
    assert_eq!(curl_https(&health, &first), Some(200));
    assert_eq!(curl_https(&health, &second), None);
    // Plain HTTP on the TLS port gets no answer.
    let plain = health.replace("https://", "http://");
    let output = Command::new("curl")
        .args(["-s", "--max-time", "5", &plain])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&output.stdout).contains("OK"));

    // A renewed certificate takes effect on SIGHUP, without a restart.
    std::fs::copy(&second, &cert).unwrap();
    std::fs::copy(&second_key, &key).unwrap();
    let pid = server.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
    let started = Instant::now();
    while curl_https(&health, &second) != Some(200) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the new certificate was not loaded"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(curl_https(&health, &first), None);

    // A broken file on reload keeps the certificate in use.
    std::fs::write(&cert, "not a certificate").unwrap();
    Command::new("kill").args(["-HUP", &pid]).status().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(curl_https(&health, &second), Some(200));
}
