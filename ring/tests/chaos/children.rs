//! The chaos test's participants: child processes (`ringflow-stream chaos-produce` /
//! `chaos-consume`), one thread per child forwarding its stdout lines, and what each child said.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::Sender;
use std::time::Instant;

/// What a participant does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Producer,
    Lossless,
    Lossy,
}

impl Role {
    pub fn is_reader(self) -> bool {
        self != Role::Producer
    }
}

/// One line from a child (`None`: its stdout closed), stamped when it arrived.
pub struct Event {
    pub id: usize,
    pub line: Option<String>,
    pub at: Instant,
}

/// The value of `key=` in a line of `key=value` words.
pub fn word<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
}

pub fn num(line: &str, key: &str) -> Option<u64> {
    word(line, key).and_then(|v| v.parse().ok())
}

/// What a producer reported last: frames committed and the ring seq of the last one.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sent {
    pub sent: u64,
    pub last_seq: u64,
}

/// A reader's `end` line.
#[derive(Clone, Debug)]
pub struct ReaderEnd {
    pub how: String,
    pub next: u64,
    pub start: u64,
    pub delivered: u64,
    pub lost: u64,
    pub skips: u64,
    pub torn: u64,
    /// Failed checks, counted (the first ones also came as `error` lines).
    pub errors: u64,
    /// Producer id -> (first counter, last counter, frames).
    pub producers: Vec<(u32, u64, u64, u64)>,
}

/// One child process and everything it said.
pub struct Participant {
    pub id: usize,
    pub role: Role,
    pub pid: u32,
    child: Child,
    /// A producer's stdin: dropping it asks the producer to stop cleanly.
    stdin: Option<ChildStdin>,
    pub spawned: Instant,
    pub killed: bool,
    pub exited: Option<std::process::ExitStatus>,
    pub stdout_closed: bool,
    /// Reader: `start` line (seq, protected).
    pub start: Option<(u64, u64)>,
    /// Reader: the last accounted-for `next` it reported, and when it last moved.
    pub next: Option<u64>,
    pub moved_at: Instant,
    /// Reader: since when the ring had frames past `next` that it did not report reading.
    pub behind_since: Option<Instant>,
    /// Producer: table entry, last progress, clean end (sent, first_seq, last_seq).
    pub entry: Option<u64>,
    pub progress: Option<Sent>,
    pub end_producer: Option<(u64, Option<u64>, Option<u64>)>,
    pub end_reader: Option<ReaderEnd>,
    pub errors: Vec<String>,
}

impl Participant {
    pub fn spawn(id: usize, role: Role, args: &[String], events: &Sender<Event>) -> Participant {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ringflow-stream"));
        command
            .args(args)
            .stdout(Stdio::piped())
            .stdin(if role == Role::Producer {
                Stdio::piped()
            } else {
                Stdio::null()
            });
        let mut child = command.spawn().expect("spawn ringflow-stream");
        let stdout = child.stdout.take().unwrap();
        let stdin = child.stdin.take();
        let tx = events.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let at = Instant::now();
                if tx
                    .send(Event {
                        id,
                        line: Some(line),
                        at,
                    })
                    .is_err()
                {
                    return;
                }
            }
            let _ = tx.send(Event {
                id,
                line: None,
                at: Instant::now(),
            });
        });
        let now = Instant::now();
        Participant {
            id,
            role,
            pid: child.id(),
            child,
            stdin,
            spawned: now,
            killed: false,
            exited: None,
            stdout_closed: false,
            start: None,
            next: None,
            moved_at: now,
            behind_since: None,
            entry: None,
            progress: None,
            end_producer: None,
            end_reader: None,
            errors: Vec::new(),
        }
    }

    /// Whether it said it attached (producer) or registered (reader).
    pub fn announced(&self) -> bool {
        match self.role {
            Role::Producer => self.entry.is_some(),
            Role::Lossless | Role::Lossy => self.start.is_some(),
        }
    }

    pub fn running(&self) -> bool {
        self.exited.is_none()
    }

    /// SIGKILL, then reap (so the pid is not a zombie the ring could mistake for alive).
    pub fn kill(&mut self) {
        if self.running() {
            let _ = self.child.kill();
            self.exited = self.child.wait().ok();
            self.killed = true;
        }
    }

    /// Asks a producer to stop cleanly (end of file on its stdin).
    pub fn stop(&mut self) {
        self.stdin = None;
    }

    /// Reaps the child if it exited.
    pub fn poll_exit(&mut self) {
        if self.running() {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.exited = Some(status);
            }
        }
    }

    /// Takes one line the child printed.
    pub fn take(&mut self, line: &str, at: Instant) {
        let (kind, _) = line.split_once(' ').unwrap_or((line, ""));
        match kind {
            "ready" => self.entry = num(line, "entry"),
            "progress" if self.role == Role::Producer => {
                if let (Some(sent), Some(last_seq)) = (num(line, "sent"), num(line, "last_seq")) {
                    self.progress = Some(Sent { sent, last_seq });
                }
            }
            "end" if self.role == Role::Producer => {
                self.end_producer = num(line, "sent")
                    .map(|sent| (sent, num(line, "first_seq"), num(line, "last_seq")));
            }
            "start" => {
                if let (Some(seq), Some(protected)) = (num(line, "seq"), num(line, "protected")) {
                    self.start = Some((seq, protected));
                    self.next = Some(seq);
                    self.moved_at = at;
                }
            }
            "progress" => self.advance(num(line, "next"), at),
            "skip" => {}
            "error" => self.errors.push(line.to_owned()),
            "end" => {
                let end = parse_reader_end(line);
                match end {
                    Some(end) => {
                        self.advance(Some(end.next), at);
                        self.end_reader = Some(end);
                    }
                    None => self.errors.push(format!("unreadable end line: {line}")),
                }
            }
            _ => self.errors.push(format!("unexpected line: {line}")),
        }
    }

    fn advance(&mut self, next: Option<u64>, at: Instant) {
        if let Some(next) = next {
            if self.next != Some(next) {
                self.next = Some(next);
                self.moved_at = at;
                self.behind_since = None;
            }
        }
    }
}

impl Drop for Participant {
    fn drop(&mut self) {
        // A failing test must not leave processes behind.
        self.kill();
    }
}

fn parse_reader_end(line: &str) -> Option<ReaderEnd> {
    let producers = word(line, "producers")
        .unwrap_or("")
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let f: Vec<u64> = p.split(':').filter_map(|x| x.parse().ok()).collect();
            (f.len() == 4).then(|| (f[0] as u32, f[1], f[2], f[3]))
        })
        .collect::<Option<Vec<_>>>()?;
    Some(ReaderEnd {
        how: word(line, "how")?.to_owned(),
        next: num(line, "next")?,
        start: num(line, "start")?,
        delivered: num(line, "delivered")?,
        lost: num(line, "lost")?,
        skips: num(line, "skips")?,
        torn: num(line, "torn")?,
        errors: num(line, "errors")?,
        producers,
    })
}
