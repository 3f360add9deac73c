//! Shared by the inventory's emulator tests.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// A pass-through HTTP proxy in front of the emulator that fixes one moto answer the AWS
/// SDK for Rust rejects: moto's GetBucketVersioning body has the root element
/// `GetBucketVersioningResponse`, where AWS documents `VersioningConfiguration`
/// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketVersioning.html>, Response
/// Syntax). See docs/emulator-gaps.md. Everything else is forwarded byte for byte (the
/// emulator closes every connection after its answer, so this proxy does too). Returns the
/// proxy's URL; it lives as long as the test process.
pub fn versioning_fix_proxy(upstream: &str) -> String {
    let upstream = upstream
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let listener = TcpListener::bind("127.0.0.1:0").expect("proxy bind");
    let url = format!("http://{}", listener.local_addr().expect("proxy addr"));
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let upstream = upstream.clone();
            std::thread::spawn(move || {
                if let Err(e) = relay(client, &upstream) {
                    eprintln!("proxy: {e}");
                }
            });
        }
    });
    url
}

fn relay(client: TcpStream, upstream: &str) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut head = Vec::new();
    let mut content_length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(()); // closed before a request
        }
        if let Some((k, v)) = line.split_once(':')
            && k.trim().eq_ignore_ascii_case("content-length")
        {
            content_length = v.trim().parse().unwrap_or(0);
        }
        let end = line == "\r\n";
        head.extend_from_slice(line.as_bytes());
        if end {
            break;
        }
    }
    let mut body = vec![0; content_length];
    reader.read_exact(&mut body)?;
    let mut up = TcpStream::connect(upstream)?;
    up.write_all(&head)?;
    up.write_all(&body)?;
    let mut response = Vec::new();
    up.read_to_end(&mut response)?;
    let response = fix_versioning(response);
    let mut client = client;
    client.write_all(&response)?;
    client.flush()?;
    client.shutdown(std::net::Shutdown::Both)
}

fn fix_versioning(response: Vec<u8>) -> Vec<u8> {
    const WRONG: &str = "GetBucketVersioningResponse";
    let Some(split) = response.windows(4).position(|w| w == b"\r\n\r\n") else {
        return response;
    };
    let (head, body) = response.split_at(split + 4);
    let Ok(body) = std::str::from_utf8(body) else {
        return response;
    };
    if !body.contains(WRONG) {
        return response;
    }
    let body = body.replace(WRONG, "VersioningConfiguration");
    let head = String::from_utf8_lossy(head)
        .lines()
        .map(|l| {
            if l.to_ascii_lowercase().starts_with("content-length:") {
                format!("Content-Length: {}", body.len())
            } else {
                l.to_string()
            }
        })
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\r\n");
    format!("{head}\r\n\r\n{body}").into_bytes()
}
