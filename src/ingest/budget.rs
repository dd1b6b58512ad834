//! The upload budget: write bodies in flight, in count and in bytes. Past
//! either bound a write is refused with 503 and retries later, so the server
//! never runs out of memory however many large batches arrive at once.

/// Bodies in flight: how many, and how many bytes, at most. A write asks
/// for admission before it reads its body and reserves bytes as they
/// arrive; past either bound it gets 503 with `Retry-After`. A body is
/// counted by what it holds, not by the length it declares: two clients
/// that declare 64 MiB and send a byte a second held the whole budget
/// when declared lengths were reserved up front, and every other write was
/// refused for as long as they hung (the body timeout now ends them too).
/// Only a declared length that the budget could never hold is refused at
/// once.
#[derive(Debug)]
pub struct UploadBudget {
    max_count: usize,
    max_bytes: usize,
    /// (writes admitted, bytes reserved)
    used: std::sync::Mutex<(usize, usize)>,
}

impl UploadBudget {
    pub fn new(max_count: usize, max_bytes: usize) -> std::sync::Arc<Self> {
        std::sync::Arc::new(UploadBudget {
            max_count: max_count.max(1),
            max_bytes,
            used: std::sync::Mutex::new((0, 0)),
        })
    }

    fn used(&self) -> std::sync::MutexGuard<'_, (usize, usize)> {
        self.used.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Bodies held now, and their bytes (for `/metrics`).
    pub fn held(&self) -> (usize, usize) {
        *self.used()
    }

    /// A place for one more write, or a 503 if as many are in flight as allowed.
    pub fn admit(self: &std::sync::Arc<Self>) -> Result<Admission, BudgetFull> {
        let mut used = self.used();
        if used.0 >= self.max_count {
            return Err(BudgetFull(format!(
                "{} writes are being received already, the most this server takes at once",
                self.max_count
            )));
        }
        used.0 += 1;
        Ok(Admission {
            budget: self.clone(),
            bytes: 0,
        })
    }
}

/// The server holds as many bodies, or bytes of them, as it takes: the
/// write is refused (503 with `Retry-After`), and retrying later is the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}; retry in a few seconds")]
pub struct BudgetFull(String);

/// One write's place in the [`UploadBudget`], given back when dropped.
#[derive(Debug)]
pub struct Admission {
    budget: std::sync::Arc<UploadBudget>,
    bytes: usize,
}

impl Admission {
    /// Refuses a body whose declared length is more than the whole budget:
    /// it could never be held.
    pub fn could_hold(&self, declared: usize) -> Result<(), BudgetFull> {
        if declared > self.budget.max_bytes {
            return Err(BudgetFull(format!(
                "a body of {declared} bytes is more than the {} bytes this server keeps for bodies in flight",
                self.budget.max_bytes
            )));
        }
        Ok(())
    }

    /// Reserves `more` bytes of the budget, or says the server is busy.
    pub fn reserve(&mut self, more: usize) -> Result<(), BudgetFull> {
        let mut used = self.budget.used();
        if used.1 + more > self.budget.max_bytes {
            return Err(BudgetFull(format!(
                "the bodies being received already take the {} bytes this server keeps for them",
                self.budget.max_bytes
            )));
        }
        used.1 += more;
        self.bytes += more;
        Ok(())
    }

    /// Bytes reserved so far.
    pub fn reserved(&self) -> usize {
        self.bytes
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut used = self.budget.used();
        used.0 -= 1;
        used.1 -= self.bytes;
    }
}
