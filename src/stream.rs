//! Streaming a window: blocking producer → bounded channel → HTTP body.
//!
//! A diesel row cursor borrows its connection and is not `Send`, so one
//! blocking thread takes a connection, runs the query, encodes rows into
//! ~64 KiB chunks and sends them through a channel of a few slots. The
//! channel is the only buffer: when the client reads slowly the producer
//! blocks, so memory stays flat whatever the window's size. When the client
//! goes away the receiver is dropped, the next send fails, and the producer
//! stops the query and returns its connection: a normal end, not an error.
//!
//! The first message decides the status: an error before any byte was
//! produced becomes an ordinary error response; an error after that is
//! passed to actix as a body error, which aborts the chunked response
//! without its terminating chunk, so the client sees a broken transfer and
//! never a complete-looking file. The body ends cleanly only when the
//! producer says it finished: a producer that stopped for any other reason
//! (a client that stalled, a panic) leaves a broken response.
//!
//! A client that accepts no bytes for the send timeout is cut: the producer
//! stops, and its database connection (with its read snapshot, which on
//! SQLite keeps the WAL from being checkpointed) goes back to the pool at
//! once. Each key may run only so many streams at once ([`StreamLimits`]).

use crate::datasets::catalog::Catalog;
use crate::datasets::Dataset;
use crate::db::{DbPool, StreamError};
use crate::encode::CHUNK_SIZE;
use crate::error::ApiError;
use crate::timestamp::TimeWindow;
use crate::window::Format;
use bytes::Bytes;
use futures_util::stream::{self, BoxStream, StreamExt};
use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Chunks in flight between the producer and the socket. With 64 KiB chunks
/// this bounds a stream's buffered output to about 256 KiB.
const CHANNEL_SLOTS: usize = 4;

type Message = Result<Bytes, ApiError>;

/// What to stream.
#[derive(Debug, Clone)]
pub struct Pulling {
    /// The catalog as the request found it: its columns for the whole pull.
    pub catalog: Arc<Catalog>,
    pub what: What,
    pub window: TimeWindow,
    pub format: Format,
    /// How long the pull waited for writes in flight before it could read.
    pub settle_wait: std::time::Duration,
    /// Where the stream's end is counted.
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// The rows a stream writes.
#[derive(Debug, Clone)]
pub enum What {
    /// A dataset's window.
    Dataset(Dataset),
    /// One player's rows in every dataset (`datasets/activity.rs`).
    Activity { player: String },
}

impl What {
    /// The request's path, for the log line: a player's id stays out.
    fn path(&self) -> String {
        match self {
            What::Dataset(dataset) => format!("/api/{}", dataset.name()),
            What::Activity { .. } => "/api/players/<id>/activity".to_string(),
        }
    }

    /// The dataset label of its metrics.
    fn label(&self) -> &'static str {
        match self {
            What::Dataset(dataset) => dataset.name(),
            What::Activity { .. } => "activity",
        }
    }
}

/// How many streams each key may run at once.
#[derive(Debug)]
pub struct StreamLimits {
    per_key: usize,
    running: Mutex<HashMap<String, usize>>,
}

impl StreamLimits {
    pub fn new(per_key: usize) -> Arc<Self> {
        Arc::new(StreamLimits {
            per_key: per_key.max(1),
            running: Mutex::new(HashMap::new()),
        })
    }

    /// Streams running now, of every key.
    pub fn running(&self) -> usize {
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        running.values().sum()
    }

    /// A place for one more stream of `key`, or a 429 if it runs its share
    /// already: one key can never take every read connection.
    pub fn acquire(self: &Arc<Self>, key: &str) -> Result<StreamPermit, ApiError> {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        let count = running.entry(key.to_string()).or_default();
        if *count >= self.per_key {
            return Err(ApiError::TooManyStreams {
                retry_after: 1,
                detail: format!(
                    "this key runs {} pulls at once already, its limit: wait for one to end",
                    self.per_key
                ),
            });
        }
        *count += 1;
        Ok(StreamPermit {
            limits: self.clone(),
            key: key.to_string(),
        })
    }
}

/// One running stream of a key; the place is given back when it is dropped,
/// which the producer does when it has returned its connection.
#[derive(Debug)]
pub struct StreamPermit {
    limits: Arc<StreamLimits>,
    key: String,
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut running = self
            .limits
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(count) = running.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                running.remove(&self.key);
            }
        }
    }
}

/// Starts the producer on a blocking thread and waits for its first chunk.
/// Returns `Ok(None)` for an empty output (NDJSON of an empty window).
pub async fn start(
    pool: DbPool,
    pulling: Pulling,
    send_timeout: Duration,
    shutting_down: Arc<AtomicBool>,
    permit: StreamPermit,
) -> Result<Option<BoxStream<'static, Message>>, ApiError> {
    let (sender, mut receiver) = mpsc::channel::<Message>(CHANNEL_SLOTS);
    let finished = Arc::new(AtomicBool::new(false));
    let done = finished.clone();
    actix_web::rt::task::spawn_blocking(move || {
        let mut sink = ChunkSender::new(sender, send_timeout);
        if produce(&pool, pulling, &mut sink, &shutting_down) {
            done.store(true, Ordering::Release);
        }
        // In this order: by the time the client sees the body end (the
        // channel closing with the sink), the key's place is free again
        // and the body knows whether it finished.
        drop(permit);
        drop(sink);
    });
    let unfinished = || ApiError::Internal("the pull's producer stopped before the end".into());
    let first = match receiver.recv().await {
        None if finished.load(Ordering::Acquire) => return Ok(None),
        None => return Err(unfinished()),
        Some(Err(error)) => return Err(error),
        Some(Ok(first)) => first,
    };
    // After the channel closes, a body ends cleanly only if the producer
    // said it finished; otherwise it ends with an error, which aborts it.
    let rest = stream::unfold(Some(receiver), move |receiver| {
        let finished = finished.clone();
        async move {
            let mut receiver = receiver?;
            match receiver.recv().await {
                Some(message) => Some((message, Some(receiver))),
                None if finished.load(Ordering::Acquire) => None,
                None => Some((Err(unfinished()), None)),
            }
        }
    });
    Ok(Some(stream::once(async { Ok(first) }).chain(rest).boxed()))
}

/// The producer: runs on a blocking thread until the window is written, the
/// query fails, or the client goes away or stalls. Logs one line per
/// request. Returns whether the whole window went out.
fn produce(
    pool: &DbPool,
    pulling: Pulling,
    sink: &mut ChunkSender,
    shutting_down: &AtomicBool,
) -> bool {
    let started = Instant::now();
    let mut rows = 0u64;
    let outcome = match pool.get() {
        Err(error) => Outcome::Failed(ApiError::from(error)),
        Ok(mut conn) => {
            let written = match &pulling.what {
                What::Dataset(dataset) => crate::export::window(
                    &mut conn,
                    pulling.catalog.shape(*dataset),
                    pulling.window,
                    pulling.format,
                    &mut *sink,
                    &mut rows,
                ),
                What::Activity { player } => crate::export::activity(
                    &mut conn,
                    &pulling.catalog,
                    player,
                    pulling.window,
                    pulling.format,
                    &mut *sink,
                    &mut rows,
                ),
            }
            .and_then(|sink| Ok(sink.flush()?));
            match written {
                Ok(()) => Outcome::Complete,
                Err(StreamError::Sink(error)) if error.kind() == io::ErrorKind::TimedOut => {
                    Outcome::Stalled
                }
                Err(StreamError::Sink(_)) if shutting_down.load(Ordering::SeqCst) => {
                    Outcome::ShutdownCut
                }
                Err(StreamError::Sink(_)) => Outcome::ClientGone,
                Err(StreamError::Query(error)) => Outcome::Failed(ApiError::from(error)),
            }
        }
    };
    pulling.metrics.pull(
        pulling.what.label(),
        match &outcome {
            Outcome::Complete => "complete",
            Outcome::ClientGone => "client_gone",
            Outcome::ShutdownCut => "shutdown",
            Outcome::Stalled => "stalled",
            Outcome::Failed(_) => "failed",
        },
        rows,
        sink.bytes_sent,
        started.elapsed(),
    );
    log::info!(
        "GET {} from=\"{}\" to=\"{}\" format={} rows={} bytes={} settle_ms={:.3} duration_ms={} {}",
        pulling.what.path(),
        pulling.window.from(),
        pulling.window.to(),
        pulling.format.extension(),
        rows,
        sink.bytes_sent,
        pulling.settle_wait.as_secs_f64() * 1000.0,
        started.elapsed().as_millis(),
        match &outcome {
            Outcome::Complete => "complete".to_string(),
            Outcome::ClientGone => "client went away".to_string(),
            Outcome::ShutdownCut => "cut by the shutdown: the grace period ran out".to_string(),
            Outcome::Stalled => format!(
                "cut: the client accepted no bytes for {} s",
                sink.timeout.as_secs()
            ),
            Outcome::Failed(error) => format!("failed: {}", crate::report::cause_chain(error)),
        }
    );
    match outcome {
        Outcome::Complete => true,
        Outcome::Failed(error) => {
            // Before the first byte this becomes an error response; after
            // it, an aborted body. Either way the client cannot mistake it
            // for a complete file. If the client is gone or stalled, there is
            // no one to tell, and the body ends broken all the same.
            let _ = sink.send(Err(error));
            false
        }
        Outcome::ClientGone | Outcome::Stalled | Outcome::ShutdownCut => false,
    }
}

/// How a producer ended.
enum Outcome {
    Complete,
    /// The client closed the connection: a normal end, not an error.
    ClientGone,
    /// The client accepted no bytes for the send timeout.
    Stalled,
    /// The server stopped, and its grace period ran out before the end.
    ShutdownCut,
    Failed(ApiError),
}

/// An `io::Write` that cuts its input into chunks and sends each through the
/// bounded channel, blocking while the channel is full.
struct ChunkSender {
    sender: mpsc::Sender<Message>,
    buffer: Vec<u8>,
    bytes_sent: u64,
    /// How the channel failed, once it has: every later send fails the same
    /// way at once. (An encoder dropped after a failure flushes what it
    /// holds; that must not wait for the client a second time.)
    failed: Option<io::ErrorKind>,
    /// How long one chunk may wait for room in the channel.
    timeout: Duration,
    /// The runtime whose timer bounds the wait (the producer runs on one of
    /// its blocking threads).
    runtime: tokio::runtime::Handle,
}

impl ChunkSender {
    fn new(sender: mpsc::Sender<Message>, timeout: Duration) -> Self {
        ChunkSender {
            sender,
            buffer: Vec::with_capacity(2 * CHUNK_SIZE),
            bytes_sent: 0,
            failed: None,
            timeout,
            runtime: tokio::runtime::Handle::current(),
        }
    }

    /// Sends one message, waiting at most the send timeout for room.
    fn send(&mut self, message: Message) -> io::Result<()> {
        if let Some(kind) = self.failed {
            return Err(io::Error::new(kind, "the stream was cut already"));
        }
        let sent = self.runtime.block_on(tokio::time::timeout(
            self.timeout,
            self.sender.send(message),
        ));
        let error = match sent {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(_)) => io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"),
            Err(_) => io::Error::new(
                io::ErrorKind::TimedOut,
                "the client accepted no bytes for the send timeout",
            ),
        };
        self.failed = Some(error.kind());
        Err(error)
    }

    fn send_buffer(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(2 * CHUNK_SIZE));
        let len = chunk.len() as u64;
        self.send(Ok(Bytes::from(chunk)))?;
        self.bytes_sent += len;
        Ok(())
    }
}

impl Write for ChunkSender {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= CHUNK_SIZE {
            self.send_buffer()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send_buffer()
    }
}
