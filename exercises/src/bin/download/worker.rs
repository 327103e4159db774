//! What one coroutine does: fetch segments with `Range` requests until none is left, or, when
//! the server cannot serve ranges, the whole file as one stream.
//!
//! The notes' `download_one` trusted every answer: a server that ignored `Range` (status 200)
//! had each greenlet write the whole body at its offset, and a dropped connection left a hole.
//! Here an answer is used only when it is `206` with exactly the `Content-Range` asked for;
//! a dropped or stalled connection (ureq's per-read timeout) is retried from the byte it
//! reached, with exponential backoff, up to `--retries` times per segment.
//!
//! A coroutine first takes a connection slot (`share`) and keeps it until it returns; every
//! request carries the `-H` headers, and every read pays the shared `--limit-rate` bucket.

use crate::http::describe;
use crate::part::Chunk;
use crate::plan::Plan;
use crate::probe::{check_identity, content_range, header, validator};
use crate::share::{Rate, Shared};
use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use ureq::Agent;

/// Size of one read buffer; each coroutine has two (one filling, one being written).
pub(crate) const BUFFER_SIZE: usize = 256 * 1024;

/// Everything the coroutines of one download share.
pub(crate) struct Job {
    pub(crate) agent: Agent,
    /// The URL after redirects.
    pub(crate) url: String,
    /// The length, or `u64::MAX` when unknown (one stream only).
    pub(crate) length: u64,
    pub(crate) plan: Arc<Plan>,
    /// Sent as `If-Range`, so that a changed file is not spliced with the old one.
    pub(crate) validator: Option<String>,
    pub(crate) retries: u32,
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) retried: AtomicU64,
    pub(crate) stolen: AtomicU64,
    /// The `-H` headers for this URL (credentials already left out for another host).
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) shared: Arc<Shared>,
    /// `host:port` of `url`, for the per-host connection count.
    pub(crate) host: String,
}

impl Job {
    fn get(&self) -> ureq::RequestBuilder<ureq::typestate::WithoutBody> {
        let mut request = self.agent.get(&self.url);
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        request
    }
}

/// How a coroutine ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    Done,
    /// Told to stop (Ctrl-C, or another coroutine failed).
    Stopped,
    /// The server does not serve ranges as asked: the download becomes one stream.
    RangeIgnored(String),
    /// `If-Range` found the file changed on the server: start afresh.
    Changed,
    Failed(String),
}

enum Attempt {
    Retry(String),
    Give(Outcome),
}

/// The two buffers of one coroutine, and the way to the writer thread. They come from the
/// run's pool and go back to it when the coroutine ends (once the writer has returned them),
/// so that a hundred small files do not allocate and fault in a hundred pairs of buffers.
struct Buffers<'a> {
    free: Vec<Vec<u8>>,
    /// Buffers at the writer, not yet given back.
    out: usize,
    returned: may::sync::mpsc::Receiver<Vec<u8>>,
    give_back: may::sync::mpsc::Sender<Vec<u8>>,
    writer: crossbeam_channel::Sender<Chunk>,
    shared: &'a Shared,
}

impl Buffers<'_> {
    fn new(writer: crossbeam_channel::Sender<Chunk>, shared: &Shared) -> Buffers<'_> {
        let (give_back, returned) = may::sync::mpsc::channel();
        Buffers {
            free: vec![shared.buffer(), shared.buffer()],
            out: 0,
            returned,
            give_back,
            writer,
            shared,
        }
    }

    /// A free buffer; parks the coroutine until the writer gives one back.
    fn take(&mut self) -> Vec<u8> {
        if let Some(buffer) = self.free.pop() {
            return buffer;
        }
        match self.returned.recv() {
            Ok(buffer) => {
                self.out -= 1;
                buffer
            }
            Err(_) => vec![0; BUFFER_SIZE],
        }
    }

    fn write(
        &mut self,
        segment: usize,
        offset: u64,
        bytes: Vec<u8>,
        len: usize,
    ) -> Result<(), Attempt> {
        if len == 0 {
            self.free.push(bytes);
            return Ok(());
        }
        let chunk = Chunk {
            segment,
            offset,
            bytes,
            len,
            give_back: self.give_back.clone(),
        };
        self.writer
            .send(chunk)
            .map_err(|_| Attempt::Give(Outcome::Failed("the file writer stopped".into())))?;
        self.out += 1;
        Ok(())
    }
}

impl Drop for Buffers<'_> {
    /// Back to the pool, waiting (parked) for those still at the writer: it gives every
    /// chunk back, written or not, unless it is gone (then the wait ends at once).
    fn drop(&mut self) {
        while self.out > 0 {
            match self.returned.recv() {
                Ok(buffer) => {
                    self.out -= 1;
                    self.free.push(buffer);
                }
                Err(_) => break,
            }
        }
        self.shared.give_back(std::mem::take(&mut self.free));
    }
}

/// Fills `buffer` from `reader`: the bytes read, and why it stopped early (`None`: full;
/// `Some(Ok)`: end of the body; `Some(Err)`: a read error).
/// With a rate limit, reads are small and each one is paid for.
fn fill(
    reader: &mut impl Read,
    buffer: &mut [u8],
    rate: Option<&Rate>,
) -> (usize, Option<Result<(), String>>) {
    let mut filled = 0;
    let piece = rate.map_or(buffer.len(), Rate::piece);
    while filled < buffer.len() {
        let until = buffer.len().min(filled + piece);
        match reader.read(&mut buffer[filled..until]) {
            Ok(0) => return (filled, Some(Ok(()))),
            Ok(n) => {
                filled += n;
                if let Some(rate) = rate {
                    rate.pay(n);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (filled, Some(Err(describe_io(e)))),
        }
    }
    (filled, None)
}

fn describe_io(error: io::Error) -> String {
    match error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<ureq::Error>())
    {
        Some(inner) => describe(inner),
        None => describe(&ureq::Error::Io(error)),
    }
}

/// Connection trouble is worth a retry; a bad URL or a TLS failure is not.
fn classify(error: ureq::Error) -> Attempt {
    match error {
        ureq::Error::Io(_)
        | ureq::Error::Timeout(_)
        | ureq::Error::ConnectionFailed
        | ureq::Error::HostNotFound => Attempt::Retry(describe(&error)),
        // The proxy's refusal (407, a bad answer) will not change on a retry.
        other => Attempt::Give(Outcome::Failed(describe(&other))),
    }
}

fn backoff(job: &Job, attempt: u32) {
    let pause = Duration::from_millis(100 << attempt.min(6)); // 0.2 s, 0.4 s ... 6.4 s
    let slice = Duration::from_millis(50);
    let mut slept = Duration::ZERO;
    while slept < pause && !job.stop.load(Ordering::Relaxed) {
        may::coroutine::sleep(slice); // parks this coroutine only, like gevent.sleep
        slept += slice;
    }
}

/// One coroutine of a segmented download: segments until none is left to take or split.
pub(crate) fn fetch_segments(job: &Job, writer: crossbeam_channel::Sender<Chunk>) -> Outcome {
    let Some(_slot) = job.shared.slots.acquire(&job.host, &job.stop) else {
        return Outcome::Stopped;
    };
    let mut buffers = Buffers::new(writer, &job.shared);
    while let Some((index, stolen)) = job.plan.next_job() {
        if stolen {
            job.stolen.fetch_add(1, Ordering::Relaxed);
        }
        let outcome = fetch_segment(job, index, &mut buffers);
        if !matches!(outcome, Outcome::Done) {
            job.plan.release(index);
            return outcome;
        }
    }
    Outcome::Done
}

fn fetch_segment(job: &Job, index: usize, buffers: &mut Buffers) -> Outcome {
    let mut attempt = 0;
    loop {
        if job.stop.load(Ordering::Relaxed) {
            return Outcome::Stopped;
        }
        let (from, end) = job.plan.range(index);
        if from >= end {
            return Outcome::Done;
        }
        match fetch_range(job, index, buffers) {
            Ok(()) => {}
            Err(Attempt::Give(outcome)) => return outcome,
            Err(Attempt::Retry(_)) if job.stop.load(Ordering::Relaxed) => return Outcome::Stopped,
            Err(Attempt::Retry(why)) => {
                attempt += 1;
                let (reached, end) = job.plan.range(index);
                if attempt > job.retries {
                    return Outcome::Failed(format!(
                        "bytes {reached}-{}: {why} (gave up after {} retries)",
                        end - 1,
                        job.retries
                    ));
                }
                job.retried.fetch_add(1, Ordering::Relaxed);
                backoff(job, attempt);
            }
        }
    }
}

/// One `Range` request for what is left of segment `index`.
fn fetch_range(job: &Job, index: usize, buffers: &mut Buffers) -> Result<(), Attempt> {
    let (from, end) = job.plan.range(index);
    let mut request = job
        .get()
        .header("Range", format!("bytes={from}-{}", end - 1));
    if let Some(validator) = &job.validator {
        request = request.header("If-Range", validator);
    }
    let mut response = request.call().map_err(classify)?;
    let status = response.status();
    let headers = response.headers();
    match status.as_u16() {
        206 => {}
        200 => {
            let now = validator(header(headers, "etag"), header(headers, "last-modified"));
            let changed = job.validator.is_some() && now != job.validator;
            return Err(Attempt::Give(if changed {
                Outcome::Changed
            } else {
                Outcome::RangeIgnored(
                    "it answered a Range request with 200 and the whole file".into(),
                )
            }));
        }
        408 | 429 | 500..=599 => {
            return Err(Attempt::Retry(format!("the server answered {status}")));
        }
        _ => {
            return Err(Attempt::Give(Outcome::Failed(format!(
                "the server answered {status} for bytes {from}-{}",
                end - 1
            ))));
        }
    }
    check_identity(headers).map_err(|e| Attempt::Give(Outcome::Failed(e)))?;
    let asked = (from, end - 1, Some(job.length));
    match content_range(headers) {
        Some(answer) if answer == asked => {}
        _ => {
            let answer = header(headers, "content-range").unwrap_or("missing");
            return Err(Attempt::Give(Outcome::RangeIgnored(format!(
                "asked for bytes {from}-{}/{}, its Content-Range was {answer}",
                end - 1,
                job.length
            ))));
        }
    }
    let mut reader = response.body_mut().as_reader();
    loop {
        if job.stop.load(Ordering::Relaxed) {
            return Err(Attempt::Give(Outcome::Stopped));
        }
        let mut buffer = buffers.take();
        let (filled, ended) = fill(&mut reader, &mut buffer, job.shared.rate.as_ref());
        // The segment's end may have moved down (stolen): only bytes below it are kept.
        let (offset, taken) = job.plan.receive(index, filled as u64);
        buffers.write(index, offset, buffer, taken as usize)?;
        let (received, end) = job.plan.range(index);
        if received >= end {
            return Ok(()); // dropping the unread rest of a cut segment closes its connection
        }
        match ended {
            None => {}
            Some(Ok(())) => return Err(Attempt::Retry("the body ended before the range".into())),
            Some(Err(why)) => return Err(Attempt::Retry(why)),
        }
    }
}

/// The whole file as one plain GET, for a server without ranges or a length. Without ranges
/// a retry starts again from the first byte.
pub(crate) fn fetch_whole(job: &Job, writer: crossbeam_channel::Sender<Chunk>) -> Outcome {
    let Some(_slot) = job.shared.slots.acquire(&job.host, &job.stop) else {
        return Outcome::Stopped;
    };
    let mut buffers = Buffers::new(writer, &job.shared);
    let mut attempt = 0;
    loop {
        if job.stop.load(Ordering::Relaxed) {
            return Outcome::Stopped;
        }
        job.plan.restart(0);
        match fetch_stream(job, &mut buffers) {
            Ok(()) => return Outcome::Done,
            Err(Attempt::Give(outcome)) => return outcome,
            Err(Attempt::Retry(_)) if job.stop.load(Ordering::Relaxed) => return Outcome::Stopped,
            Err(Attempt::Retry(why)) => {
                attempt += 1;
                if attempt > job.retries {
                    return Outcome::Failed(format!(
                        "{why} (gave up after {} retries)",
                        job.retries
                    ));
                }
                job.retried.fetch_add(1, Ordering::Relaxed);
                backoff(job, attempt);
            }
        }
    }
}

fn fetch_stream(job: &Job, buffers: &mut Buffers) -> Result<(), Attempt> {
    let mut response = job.get().call().map_err(classify)?;
    let status = response.status();
    match status.as_u16() {
        200..=205 => {}
        408 | 429 | 500..=599 => {
            return Err(Attempt::Retry(format!("the server answered {status}")));
        }
        _ => {
            return Err(Attempt::Give(Outcome::Failed(format!(
                "the server answered {status}"
            ))));
        }
    }
    let headers = response.headers();
    check_identity(headers).map_err(|e| Attempt::Give(Outcome::Failed(e)))?;
    let announced = header(headers, "content-length").and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(announced) = announced.filter(|&a| job.length != u64::MAX && a != job.length) {
        return Err(Attempt::Give(Outcome::Failed(format!(
            "the GET announced {announced} bytes, the file was said to have {}",
            job.length
        ))));
    }
    let mut reader = response.body_mut().as_reader();
    loop {
        if job.stop.load(Ordering::Relaxed) {
            return Err(Attempt::Give(Outcome::Stopped));
        }
        let mut buffer = buffers.take();
        let (filled, ended) = fill(&mut reader, &mut buffer, job.shared.rate.as_ref());
        let (offset, taken) = job.plan.receive(0, filled as u64);
        buffers.write(0, offset, buffer, taken as usize)?;
        if taken < filled as u64 {
            return Err(Attempt::Give(Outcome::Failed(format!(
                "the server sent more than the {} bytes it announced",
                job.length
            ))));
        }
        match ended {
            None => {}
            Some(Ok(())) if job.length == u64::MAX => {
                job.plan.close_at_received(0);
                return Ok(());
            }
            Some(Ok(())) if job.plan.range(0).0 == job.length => return Ok(()),
            Some(Ok(())) => return Err(Attempt::Retry("the body ended before the file".into())),
            Some(Err(why)) => return Err(Attempt::Retry(why)),
        }
    }
}
