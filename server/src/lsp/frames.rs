//! A guard in front of the LSP framing. The framework's decoder answers a
//! malformed message with a parse error and then stops reading its input
//! (the stream ends after a decoder error), which would end the session.
//! This filter reads the client's frames itself, passes well-formed ones
//! through unchanged, and replaces a malformed one with a request to
//! [`MALFORMED_METHOD`], which the server answers with a JSON-RPC parse
//! error (`-32700`), keeping the request id where it can be recovered.

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

/// The internal method a malformed message is turned into.
pub const MALFORMED_METHOD: &str = "gemmscope/malformedMessage";

/// A request (with an id) for a `$/` method gets this prefix: the framework
/// drops its own "method not found" answer for `$/` methods, which the
/// protocol allows only for notifications, so the client would wait for
/// ever; renamed, the request is answered with -32601.
pub const DOLLAR_REQUEST_PREFIX: &str = "gemmscope/unsupportedRequest:";

/// Frames larger than this are refused (and skipped) as malformed.
pub const MAX_FRAME: usize = 256 << 20;

pub fn frame(body: &[u8]) -> Vec<u8> {
    let mut v = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    v.extend_from_slice(body);
    v
}

/// The request that stands for a malformed message.
pub fn malformed(id: Value, reason: &str) -> Vec<u8> {
    let id = match id {
        Value::Number(_) | Value::String(_) => id,
        _ => Value::Null,
    };
    let v = json!({"jsonrpc": "2.0", "id": id, "method": MALFORMED_METHOD,
                   "params": {"reason": reason}});
    frame(v.to_string().as_bytes())
}

/// Checks one body: `None` when it is a JSON-RPC message the framework
/// will read; else the replacement frame.
pub fn check_body(body: &[u8]) -> Option<Vec<u8>> {
    match serde_json::from_slice::<Value>(body) {
        Err(e) => {
            // Try to recover the id from a truncated or broken body.
            let text = String::from_utf8_lossy(body);
            let id = text
                .split_once("\"id\"")
                .and_then(|(_, r)| r.trim_start().strip_prefix(':'))
                .map(|r| {
                    r.trim_start()
                        .chars()
                        .take_while(|c| c.is_ascii_digit())
                        .collect::<String>()
                })
                .and_then(|d| d.parse::<i64>().ok())
                .map(Value::from)
                .unwrap_or(Value::Null);
            Some(malformed(id, &format!("invalid JSON: {e}")))
        }
        Ok(v) => {
            let ok = v.get("jsonrpc") == Some(&json!("2.0"))
                && (v.get("method").is_some_and(Value::is_string)
                    || v.get("result").is_some()
                    || v.get("error").is_some());
            if !ok {
                return Some(malformed(
                    v.get("id").cloned().unwrap_or(Value::Null),
                    "not a JSON-RPC 2.0 message",
                ));
            }
            let dollar = v["method"].as_str().filter(|m| m.starts_with("$/"));
            match (dollar, v.get("id").filter(|i| !i.is_null())) {
                (Some(m), Some(_)) => {
                    let mut v = v.clone();
                    v["method"] = Value::String(format!("{DOLLAR_REQUEST_PREFIX}{m}"));
                    Some(frame(v.to_string().as_bytes()))
                }
                _ => None,
            }
        }
    }
}

/// Copies frames from `input` to `out` until `input` ends, replacing
/// malformed ones.
pub async fn filter<R, W>(input: R, mut out: W)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut r = BufReader::new(input);
    loop {
        // Headers: lines up to an empty one.
        let mut len: Option<Result<usize, String>> = None;
        let mut any = false;
        loop {
            let mut line = Vec::new();
            match r.read_until(b'\n', &mut line).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let l = String::from_utf8_lossy(&line);
            let l = l.trim();
            if l.is_empty() {
                if any {
                    break;
                }
                continue;
            }
            any = true;
            if let Some((k, v)) = l.split_once(':') {
                if k.trim().eq_ignore_ascii_case("content-length") {
                    len = Some(v.trim().parse::<usize>().map_err(|e| e.to_string()));
                }
            }
        }
        let n = match len {
            Some(Ok(n)) if n <= MAX_FRAME => n,
            Some(Ok(n)) => {
                // Skip the body in bounded pieces.
                let mut left = n;
                let mut buf = vec![0u8; 1 << 16];
                while left > 0 {
                    let k = left.min(buf.len());
                    if r.read_exact(&mut buf[..k]).await.is_err() {
                        return;
                    }
                    left -= k;
                }
                let m = malformed(Value::Null, &format!("message of {n} bytes is too large"));
                if out.write_all(&m).await.is_err() {
                    return;
                }
                continue;
            }
            Some(Err(e)) => {
                let m = malformed(Value::Null, &format!("bad Content-Length: {e}"));
                if out.write_all(&m).await.is_err() {
                    return;
                }
                continue;
            }
            None => {
                let m = malformed(Value::Null, "missing Content-Length header");
                if out.write_all(&m).await.is_err() {
                    return;
                }
                continue;
            }
        };
        let mut body = vec![0u8; n];
        if r.read_exact(&mut body).await.is_err() {
            return;
        }
        let bytes = check_body(&body).unwrap_or_else(|| frame(&body));
        if out.write_all(&bytes).await.is_err() || out.flush().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_checked_and_ids_recovered() {
        assert!(check_body(br#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#).is_none());
        assert!(check_body(br#"{"jsonrpc":"2.0","id":3,"result":null}"#).is_none());
        let m = check_body(br#"{"jsonrpc":"2.0","id":17,"method":"#).unwrap();
        let body = String::from_utf8(m).unwrap();
        let v: Value = serde_json::from_str(body.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(v["id"], 17);
        assert_eq!(v["method"], MALFORMED_METHOD);
        let m = String::from_utf8(check_body(br#"{"id":"x","foo":1}"#).unwrap()).unwrap();
        assert!(m.contains("\"id\":\"x\"") && m.contains("not a JSON-RPC"));
        // `$/` requests are renamed (so they are answered); `$/`
        // notifications pass.
        let m = check_body(br#"{"jsonrpc":"2.0","id":4,"method":"$/x"}"#).unwrap();
        let m = String::from_utf8(m).unwrap();
        assert!(m.contains(&format!("{DOLLAR_REQUEST_PREFIX}$/x")), "{m}");
        assert!(
            check_body(br#"{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":1}}"#)
                .is_none()
        );
    }

    #[tokio::test]
    async fn the_filter_passes_good_frames_and_replaces_bad_ones() {
        let mut input = frame(br#"{"jsonrpc":"2.0","method":"a"}"#);
        input.extend(b"X-Junk: 1\r\n\r\n");
        input.extend(frame(b"not json"));
        input.extend(frame(br#"{"jsonrpc":"2.0","method":"b"}"#));
        let mut out = Vec::new();
        filter(&input[..], &mut out).await;
        let s = String::from_utf8(out).unwrap();
        let bodies: Vec<&str> = s
            .split("Content-Length: ")
            .skip(1)
            .map(|f| f.split_once("\r\n\r\n").unwrap().1)
            .collect();
        assert_eq!(bodies.len(), 4, "{s}");
        assert!(bodies[0].contains("\"a\""));
        assert!(bodies[1].contains("missing Content-Length"));
        assert!(bodies[2].contains("invalid JSON"));
        assert!(bodies[3].contains("\"b\""));
    }
}
