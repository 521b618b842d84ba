//! CPU-bound work — screening a record, reading a FHIR import — off the async workers, on a
//! bounded pool with a bounded queue (security round 2, issue 28: two loads of a very large
//! record at once made `/healthz` wait 24 s for everyone). At most [`CpuPool::running`] jobs
//! run at once on tokio's blocking threads; up to [`CpuPool::queued`] more wait; past that the
//! caller gets 503 with `Retry-After`, never a stalled server.

use tokio::sync::Semaphore;

use crate::ApiError;

#[derive(Debug)]
pub struct CpuPool {
    /// Jobs running at once: the machine's cores.
    running: Semaphore,
    /// Jobs admitted (running or waiting).
    admitted: Semaphore,
}

impl Default for CpuPool {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        Self::new(cores, cores * 8)
    }
}

impl CpuPool {
    /// `running` jobs at once, `queued` in all (at least `running`).
    pub fn new(running: usize, queued: usize) -> Self {
        let running = running.max(1);
        Self {
            running: Semaphore::new(running),
            admitted: Semaphore::new(queued.max(running)),
        }
    }

    /// Runs `job` on a blocking thread once a place is free; refuses at once (503, retry in
    /// a second) when the queue is full.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let Ok(_admitted) = self.admitted.try_acquire() else {
            tracing::warn!("CPU queue full: answering 503");
            return Err(ApiError::busy(1));
        };
        let _running = self.running.acquire().await.map_err(ApiError::internal)?;
        tokio::task::spawn_blocking(job)
            .await
            .map_err(ApiError::internal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn past_the_queue_the_caller_is_refused_not_held() {
        let pool = std::sync::Arc::new(CpuPool::new(1, 2));
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        // Two jobs admitted: one runs (blocked until told), one waits.
        let mut held = Vec::new();
        for _ in 0..2 {
            let pool = std::sync::Arc::clone(&pool);
            let rx = std::sync::Arc::clone(&rx);
            held.push(tokio::spawn(async move {
                pool.run(move || {
                    let _ = rx.lock().map(|r| r.recv());
                })
                .await
            }));
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let refused = pool.run(|| 1).await.expect_err("queue full");
        assert_eq!(refused.code, crate::error::ErrorCode::Busy);
        assert_eq!(refused.retry_after, Some(1));
        tx.send(()).expect("send");
        tx.send(()).expect("send");
        for h in held {
            h.await.expect("join").expect("ran");
        }
        assert_eq!(pool.run(|| 2).await.expect("room again"), 2);
    }
}
