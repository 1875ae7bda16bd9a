use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_muze-sim");

#[test]
fn help_lists_the_flags() {
    let output = Command::new(BIN).arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for flag in [
        "--bind",
        "--seed",
        "--songs",
        "--latency-ms",
        "--spotify-limit",
        "--youtube-daily-quota",
        "--musicbrainz-limit",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
    assert!(
        !help.contains("muze-sim-secret"),
        "the default secret is not printed"
    );
}

#[test]
fn exits_non_zero_with_one_line_when_it_cannot_bind() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let output = Command::new(BIN)
        .args(["--bind", &addr.to_string(), "--songs", "20"])
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cannot bind"), "{stderr}");
}

#[test]
fn logs_its_address_and_stops_on_sigterm() {
    let mut child = Command::new(BIN)
        .args([
            "--bind",
            "127.0.0.1:0",
            "--songs",
            "50",
            "--log-format",
            "json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let log: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(log["fields"]["message"], "muze-sim listening");
    let addr = log["fields"]["addr"].as_str().unwrap();
    assert!(std::net::TcpStream::connect(addr).is_ok());

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    for _ in 0..50 {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().unwrap();
    panic!("muze-sim did not stop on SIGTERM");
}
