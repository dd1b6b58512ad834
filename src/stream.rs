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
//! never a complete-looking file.

use crate::datasets::catalog::Catalog;
use crate::datasets::{export_window, Dataset, StreamError};
use crate::db::DbPool;
use crate::encode::CHUNK_SIZE;
use crate::error::ApiError;
use crate::window::{Format, TimeWindow};
use bytes::Bytes;
use futures_util::stream::{self, BoxStream, StreamExt};
use std::io::{self, Write};
use std::time::Instant;
use tokio::sync::mpsc;

/// Chunks in flight between the producer and the socket. With 64 KiB chunks
/// this bounds a stream's buffered output to about 256 KiB.
const CHANNEL_SLOTS: usize = 4;

type Message = Result<Bytes, ApiError>;

/// What to stream.
#[derive(Debug, Clone)]
pub struct Pulling {
    /// The catalog as the request found it: its columns for the whole pull.
    pub catalog: std::sync::Arc<Catalog>,
    pub dataset: Dataset,
    pub window: TimeWindow,
    pub format: Format,
    /// How long the pull waited for writes in flight before it could read.
    pub settle_wait: std::time::Duration,
}

/// Starts the producer on a blocking thread and waits for its first chunk.
/// Returns `Ok(None)` for an empty output (NDJSON of an empty window).
pub async fn start(
    pool: DbPool,
    pulling: Pulling,
) -> Result<Option<BoxStream<'static, Message>>, ApiError> {
    let (sender, mut receiver) = mpsc::channel::<Message>(CHANNEL_SLOTS);
    actix_web::rt::task::spawn_blocking(move || produce(&pool, pulling, sender));
    let first = match receiver.recv().await {
        None => return Ok(None),
        Some(Err(error)) => return Err(error),
        Some(Ok(first)) => first,
    };
    let rest = stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|message| (message, receiver))
    });
    Ok(Some(stream::once(async { Ok(first) }).chain(rest).boxed()))
}

/// The producer: runs on a blocking thread until the window is written, the
/// query fails, or the client goes away. Logs one line per request.
fn produce(pool: &DbPool, pulling: Pulling, sender: mpsc::Sender<Message>) {
    let started = Instant::now();
    let mut sink = ChunkSender::new(sender);
    let mut rows = 0u64;
    let outcome = match pool.get() {
        Err(error) => Outcome::Failed(ApiError::from(error)),
        Ok(mut conn) => {
            let written = export_window(
                &mut conn,
                pulling.catalog.shape(pulling.dataset),
                pulling.window,
                pulling.format,
                &mut sink,
                &mut rows,
            )
            .and_then(|sink| Ok(sink.flush()?));
            match written {
                Ok(()) => Outcome::Complete,
                Err(StreamError::Sink(_)) => Outcome::ClientGone,
                Err(StreamError::Query(error)) => Outcome::Failed(ApiError::from(error)),
            }
        }
    };
    log::info!(
        "GET /api/{} from=\"{}\" to=\"{}\" format={} rows={} bytes={} settle_ms={:.3} duration_ms={} {}",
        pulling.dataset.name(),
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
            Outcome::Failed(error) => format!("failed: {}", crate::error::cause_chain(error)),
        }
    );
    if let Outcome::Failed(error) = outcome {
        // Before the first byte this becomes an error response; after it, an
        // aborted body. Either way the client cannot mistake it for a complete
        // file. If the client is gone already, there is no one left to tell.
        let _ = sink.sender.blocking_send(Err(error));
    }
}

/// How a producer ended.
enum Outcome {
    Complete,
    /// The client closed the connection: a normal end, not an error.
    ClientGone,
    Failed(ApiError),
}

/// An `io::Write` that cuts its input into chunks and sends each through the
/// bounded channel, blocking while the channel is full.
struct ChunkSender {
    sender: mpsc::Sender<Message>,
    buffer: Vec<u8>,
    bytes_sent: u64,
}

impl ChunkSender {
    fn new(sender: mpsc::Sender<Message>) -> Self {
        ChunkSender {
            sender,
            buffer: Vec::with_capacity(2 * CHUNK_SIZE),
            bytes_sent: 0,
        }
    }

    fn send_buffer(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(2 * CHUNK_SIZE));
        let len = chunk.len() as u64;
        self.sender
            .blocking_send(Ok(Bytes::from(chunk)))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))?;
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
