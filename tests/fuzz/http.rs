//! The fuzz targets' HTTP side: a kept-alive client for the real server,
//! the process itself (started, stopped with SIGTERM, restarted), and the
//! oracle every answer to bad input must pass.

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::process;

/// The server's default `--max-body-bytes`.
const BODY_LIMIT: usize = 8 << 20;

/// A `gamay serve` child process on a free loopback port, its stderr
/// kept in a log file next to the data directory.
pub struct Server {
    child: Child,
    pub url: String,
    pub data_dir: PathBuf,
    log: PathBuf,
    /// How much of the log [`Server::panics`] has read.
    log_read: u64,
    agent: ureq::Agent,
}

/// An answer: status and body text.
pub struct Answer {
    pub status: u16,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

impl Server {
    pub fn start(data_dir: &Path) -> Server {
        let log = data_dir.with_extension("log");
        let log_read = std::fs::metadata(&log).map_or(0, |meta| meta.len());
        // Errors only: retries of unreachable brokers and sinks are expected.
        // GAMAY_FUZZ_SERVER_LOG sets another level (RUST_LOG syntax).
        let level = std::env::var("GAMAY_FUZZ_SERVER_LOG").unwrap_or_else(|_| "gamay=error".into());
        let (child, url) = process::serve_logging(data_dir, "127.0.0.1:0", &[], &level, Some(&log));
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(120))
            .build();
        Server {
            child,
            url,
            data_dir: data_dir.to_path_buf(),
            log,
            log_read,
            agent,
        }
    }

    /// Panics the server logged since the last call (a thread that died,
    /// even if the process lives on), each with the line that follows it.
    pub fn panics(&mut self) -> Vec<String> {
        let Ok(text) = std::fs::read(&self.log) else {
            return Vec::new();
        };
        let start = (self.log_read as usize).min(text.len());
        self.log_read = text.len() as u64;
        let new = String::from_utf8_lossy(&text[start..]);
        let lines: Vec<&str> = new.lines().collect();
        let mut found = Vec::new();
        for (at, line) in lines.iter().enumerate() {
            if line.contains("panicked at") || line.contains("a request handler panicked") {
                let end = (at + 2).min(lines.len());
                found.push(lines[at..end].join(" / "));
            }
        }
        found
    }

    /// Sends `body` (if any) as JSON; a transport failure is an `Err`.
    pub fn call(&self, method: &str, path: &str, body: Option<&[u8]>) -> Result<Answer, String> {
        self.send(method, path, "application/json", body)
    }

    pub fn send(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: Option<&[u8]>,
    ) -> Result<Answer, String> {
        if let Some(body) = body.filter(|body| body.len() > BODY_LIMIT) {
            return self.send_oversized(method, path, content_type, body);
        }
        let request = self
            .agent
            .request(method, &format!("{}{path}", self.url))
            .set("Content-Type", content_type);
        let response = match body {
            Some(body) => request.send_bytes(body),
            None => request.call(),
        };
        let response = match response {
            Ok(response) => response,
            Err(ureq::Error::Status(_, response)) => response,
            Err(err) => return Err(format!("{method} {path}: {err}")),
        };
        let status = response.status();
        // Past ureq's 10 MB `into_string` limit: validate echoes a config
        // of up to the 8 MiB body limit with its unrecognized keys.
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(
            &mut std::io::Read::take(response.into_reader(), 64 << 20),
            &mut bytes,
        )
        .map_err(|err| format!("{method} {path}: unreadable answer: {err}"))?;
        let text = String::from_utf8(bytes)
            .map_err(|err| format!("{method} {path}: answer is not UTF-8: {err}"))?;
        Ok(Answer { status, text })
    }

    /// A body past the server's limit: the server answers 413 from the
    /// headers and closes the connection without reading the body, which
    /// ureq (writing the whole body before it reads) reports as a broken
    /// pipe. Written by hand here, the answer is read whatever happened to
    /// the body.
    fn send_oversized(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: &[u8],
    ) -> Result<Answer, String> {
        use std::io::{Read, Write};
        let address = self.url.trim_start_matches("http://");
        let failed = |err: std::io::Error| format!("{method} {path}: {err}");
        let mut stream = std::net::TcpStream::connect(address).map_err(failed)?;
        stream
            .set_write_timeout(Some(Duration::from_secs(30)))
            .map_err(failed)?;
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .map_err(failed)?;
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).map_err(failed)?;
        // The server may stop reading at any point: that is its right.
        let _ = stream.write_all(body);
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let text = String::from_utf8_lossy(&answer);
        let (head, body) = text
            .split_once("\r\n\r\n")
            .ok_or_else(|| format!("{method} {path}: no answer to a {}-byte body", body.len()))?;
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| format!("{method} {path}: unreadable status line in {head:?}"))?;
        Ok(Answer {
            status,
            text: body.to_string(),
        })
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Stops the process with SIGTERM; whether it exited cleanly in time.
    pub fn stop(&mut self) -> Result<(), String> {
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .map_err(|err| format!("cannot run kill: {err}"))?;
        if !sent.success() {
            return Err("kill -TERM failed".into());
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(status)) if status.success() => return Ok(()),
                Ok(Some(status)) => return Err(format!("the server exited with {status}")),
                Ok(None) => std::thread::sleep(Duration::from_millis(50)),
                Err(err) => return Err(err.to_string()),
            }
        }
        Err("the server did not exit within 60 s of SIGTERM".into())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A path segment, percent-encoded.
pub fn segment(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// What is wrong with an answer to a request that may be invalid: a 5xx,
/// or a refusal that does not say why in the API's error shape. `secret`
/// is text no answer may contain (the data directory's path).
pub fn judge(answer: &Answer, secret: &str) -> Option<String> {
    if answer.status >= 500 {
        return Some(format!(
            "answered {}: {}",
            answer.status,
            short(&answer.text)
        ));
    }
    // URI and header limits are enforced by hyper before any handler runs;
    // the status is the whole answer (no body can be given).
    if answer.ok() || matches!(answer.status, 414 | 431) {
        return None;
    }
    let body = answer.json();
    // Pinot's `{"code", "error"}` or Kafka Connect's `{"error_code", "message"}`.
    let message = body
        .get("error")
        .or_else(|| body.get("message"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if message.trim().len() < 8 {
        return Some(format!(
            "answered {} without a message saying what is wrong: {}",
            answer.status,
            short(&answer.text)
        ));
    }
    if !secret.is_empty() && message.contains(secret) {
        return Some(format!(
            "answered {} naming a server path: {}",
            answer.status,
            short(message)
        ));
    }
    // Refused values are quoted in part (4 KiB messages), not echoed whole.
    if answer.text.len() > 16 << 10 {
        return Some(format!(
            "answered {} with a {}-byte error body",
            answer.status,
            answer.text.len()
        ));
    }
    if message.contains("panicked") || message.contains("RUST_BACKTRACE") {
        return Some(format!(
            "answered {} with a panic message: {}",
            answer.status,
            short(message)
        ));
    }
    None
}

pub fn short(text: &str) -> String {
    if text.len() > 300 {
        format!("{}...", &text[..text.floor_char_boundary(300)])
    } else {
        text.to_string()
    }
}
