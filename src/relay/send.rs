//! One call to a target, made until it is answered: paced to the target's
//! rate, retried on timeouts, connection errors, 5xx, 408 and 429 with
//! capped exponential backoff, and classified by its answer.
//!
//! A 409 is delivered (Pointagram's answer to a player that exists). Any
//! other 4xx will not change by asking again: the caller records it as a
//! dead letter and carries on. 408 and 429 are a 4xx too, but they mean
//! "not now", so they are retried like a 5xx.

use super::config::Target;
use super::store::ANSWER_KEPT;
use std::time::{Duration, Instant};

/// A request to make: a POST of a JSON body.
#[derive(Debug, Clone)]
pub struct Call {
    /// The URL.
    pub url: String,
    /// What the log and a dead letter call it (`add_score`, `webhook`).
    pub endpoint: &'static str,
    pub body: String,
    /// Headers besides the target's own.
    pub headers: Vec<(&'static str, String)>,
}

/// How a call ended.
#[derive(Debug)]
pub enum Answer {
    Delivered,
    /// Refused for good: the status and the start of the body.
    Refused {
        status: u16,
        answer: String,
    },
}

/// The first wait after a failure; it doubles up to the target's cap.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// Makes calls to one target.
pub struct Sender {
    client: reqwest::Client,
    /// Headers every call carries (Pointagram's credentials).
    headers: reqwest::header::HeaderMap,
    interval: Duration,
    next: Instant,
    max_backoff: Duration,
    relay: String,
}

impl Sender {
    pub fn new(
        relay: &str,
        target: &Target,
        headers: reqwest::header::HeaderMap,
    ) -> Result<Self, reqwest::Error> {
        Ok(Sender {
            client: reqwest::Client::builder()
                .timeout(target.timeout)
                .connect_timeout(target.timeout)
                .user_agent(concat!("hourglass-relay/", env!("CARGO_PKG_VERSION")))
                .build()?,
            headers,
            interval: Duration::from_secs_f64(1.0 / target.rate),
            next: Instant::now(),
            max_backoff: target.max_backoff,
            relay: relay.to_string(),
        })
    }

    /// Sends `call` until the target answers it for good. Never gives up on
    /// a failure that may pass: the relay never moves past an undelivered
    /// change (the process is stopped by SIGTERM, not by a failing target).
    pub async fn send(&mut self, call: &Call) -> Answer {
        let mut backoff = FIRST_BACKOFF;
        let mut failures = 0u32;
        loop {
            self.pace().await;
            let mut request = self
                .client
                .post(&call.url)
                .headers(self.headers.clone())
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(call.body.clone());
            for (name, value) in &call.headers {
                request = request.header(*name, value);
            }
            let failure = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    if status.is_success() || status == reqwest::StatusCode::CONFLICT {
                        // Read the answer, so the connection can be reused.
                        let _ = response.bytes().await;
                        if failures > 0 {
                            log::info!(
                                "relay {}: {} delivered after {failures} failed attempt(s)",
                                self.relay,
                                call.endpoint
                            );
                        }
                        return Answer::Delivered;
                    }
                    let retry_after = retry_after(&response);
                    let answer = answer_text(response).await;
                    if status.is_client_error()
                        && status != reqwest::StatusCode::TOO_MANY_REQUESTS
                        && status != reqwest::StatusCode::REQUEST_TIMEOUT
                    {
                        return Answer::Refused {
                            status: status.as_u16(),
                            answer,
                        };
                    }
                    if let Some(wait) = retry_after {
                        backoff = backoff.max(wait);
                    }
                    format!("HTTP {}", status.as_u16())
                }
                Err(error) if error.is_timeout() => "no answer within the timeout".to_string(),
                // Without its URL: a webhook's URL may carry a token.
                Err(error) => crate::report::cause_chain(&error.without_url()),
            };
            failures += 1;
            let wait = backoff.min(self.max_backoff);
            log::warn!(
                "relay {}: {} failed ({failure}); attempt {} in {:.1} s",
                self.relay,
                call.endpoint,
                failures + 1,
                wait.as_secs_f64()
            );
            // A little jitter, so that relays that failed together do not
            // retry together.
            tokio::time::sleep(wait.mul_f64(0.8 + fastrand::f64() * 0.4)).await;
            backoff = (backoff * 2).min(self.max_backoff);
        }
    }

    /// Waits for the next slot of the target's rate.
    async fn pace(&mut self) {
        let now = Instant::now();
        if self.next > now {
            tokio::time::sleep_until(self.next.into()).await;
        }
        self.next = self.next.max(now) + self.interval;
    }
}

/// A `Retry-After` in seconds, if the target sent one.
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let seconds: u64 = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds.min(3600)))
}

/// The start of an answer's body, as text.
async fn answer_text(response: reqwest::Response) -> String {
    let body = response.bytes().await.unwrap_or_default();
    let mut end = body.len().min(ANSWER_KEPT);
    while end > 0 && std::str::from_utf8(&body[..end]).is_err() {
        end -= 1;
    }
    String::from_utf8_lossy(&body[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relay::config::{Target, TargetKind};

    #[test]
    fn calls_are_paced_to_the_targets_rate() {
        let target = Target {
            url: "http://127.0.0.1:9".into(),
            kind: TargetKind::Webhook { secret: "s".into() },
            rate: 100.0,
            timeout: Duration::from_secs(1),
            max_backoff: Duration::from_secs(1),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut sender = Sender::new("test", &target, Default::default()).unwrap();
            let started = Instant::now();
            for _ in 0..11 {
                sender.pace().await;
            }
            // Ten intervals of 10 ms at the least (a busy machine only
            // makes it longer).
            assert!(
                started.elapsed() >= Duration::from_millis(100),
                "{:?}",
                started.elapsed()
            );
        });
    }
}
