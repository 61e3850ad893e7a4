//! Dynamic micro-batching: one bounded queue per model in front of its own inference threads.
//!
//! A predict request puts each of its texts in the model's [`Queue`] as one job (all of them or,
//! when they do not fit in the free capacity, none: the request is refused at once and answered
//! 503). An inference thread waits for the first job, then up to `max_wait` after that job was
//! queued for more, and takes up to `max_batch` consecutive texts, possibly from several
//! requests, into one forward pass ([`Engine::predict`]); a request's texts may be split across
//! batches. Each text's result goes into its request's slot; the last one sends the request's
//! results, in order, through a oneshot channel to the waiting handler. An explain job is run
//! alone ([`Engine::explain`]). Jobs of a request whose handler has gone (timed out) are skipped.
//!
//! The threads are plain OS threads (never the async runtime's), started by [`Batcher::start`]
//! and joined by [`Batcher::shutdown`] once the queue is drained. A panic in the model is
//! caught and answered as an error to the requests of that batch; the thread lives on.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use textrnn::eval::Explanation;
use textrnn::{ExplainOptions, RowPrediction};
use tokio::sync::oneshot;

use crate::metrics::ModelMetrics;

/// What the inference threads run: a model's predictions and explanations.
pub(crate) trait Engine: Send + Sync + 'static {
    /// One prediction per text, in order (`None` for an empty text), in one forward pass.
    fn predict(&self, texts: &[&str]) -> textrnn::Result<Vec<Option<RowPrediction>>>;
    /// The LIME explanation of one text.
    fn explain(&self, text: &str, opts: &ExplainOptions) -> textrnn::Result<Explanation>;
}

/// The results of a predict request, in the order of its texts; an error message when its
/// batch failed.
pub(crate) type PredictResult = Result<Vec<Option<RowPrediction>>, String>;

/// The result of an explain job.
pub(crate) type ExplainResult = Result<Explanation, Failure>;

/// Why an explain job failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The request cannot be explained (an empty text, no known word): the client's to fix.
    BadInput(String),
    /// The model failed.
    Internal(String),
}

/// Why a request was not queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rejected {
    /// Its jobs do not fit: `waiting` jobs are queued, the queue holds `capacity`.
    Full { waiting: usize, capacity: usize },
    /// The server is shutting down.
    Closed,
}

/// Where the results of one predict request are gathered.
struct Slot {
    results: Vec<Option<RowPrediction>>,
    remaining: usize,
    reply: Option<oneshot::Sender<PredictResult>>,
}

/// One predict request's slot, shared by its text jobs.
struct Request(Mutex<Slot>);

impl Request {
    fn lock(&self) -> MutexGuard<'_, Slot> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether nobody waits for the results any more (the handler timed out or the request
    /// already failed).
    fn abandoned(&self) -> bool {
        self.lock().reply.as_ref().is_none_or(|tx| tx.is_closed())
    }

    /// Stores the result of text `index`; the last one sends them all.
    fn fill(&self, index: usize, result: Option<RowPrediction>) {
        let mut slot = self.lock();
        if let Some(place) = slot.results.get_mut(index) {
            *place = result;
        }
        slot.remaining = slot.remaining.saturating_sub(1);
        if slot.remaining == 0 {
            let results = std::mem::take(&mut slot.results);
            if let Some(tx) = slot.reply.take() {
                // The handler may have timed out meanwhile: nobody to tell.
                let _ = tx.send(Ok(results));
            }
        }
    }

    /// Answers the request with an error (once).
    fn fail(&self, message: &str) {
        if let Some(tx) = self.lock().reply.take() {
            let _ = tx.send(Err(message.to_string()));
        }
    }
}

/// One text of a predict request.
struct TextJob {
    text: String,
    index: usize,
    request: Arc<Request>,
}

/// One explain request.
struct ExplainJob {
    text: String,
    opts: ExplainOptions,
    reply: oneshot::Sender<ExplainResult>,
}

enum Task {
    Text(TextJob),
    Explain(ExplainJob),
}

/// A queued job: the task, when it was queued, and its place in the queue's order.
struct Job {
    task: Task,
    queued: Instant,
    seq: u64,
}

/// What an inference thread takes from the queue.
enum Work {
    Texts(Vec<TextJob>),
    Explain(ExplainJob),
}

#[derive(Default)]
struct State {
    jobs: VecDeque<Job>,
    next_seq: u64,
    closed: bool,
}

/// A model's bounded job queue (see the module docs).
pub(crate) struct Queue {
    state: Mutex<State>,
    wake: Condvar,
    capacity: usize,
    max_batch: usize,
    max_wait: Duration,
    metrics: ModelMetrics,
}

impl Queue {
    /// An empty queue of `capacity` jobs whose batches hold up to `max_batch` texts.
    pub(crate) fn new(
        capacity: usize,
        max_batch: usize,
        max_wait: Duration,
        metrics: ModelMetrics,
    ) -> Self {
        Self {
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            capacity,
            max_batch: max_batch.max(1),
            max_wait,
            metrics,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `tasks` if they all fit, else none.
    fn push(&self, tasks: Vec<Task>) -> Result<(), Rejected> {
        let mut state = self.lock();
        if state.closed {
            return Err(Rejected::Closed);
        }
        let waiting = state.jobs.len();
        if waiting + tasks.len() > self.capacity {
            return Err(Rejected::Full {
                waiting,
                capacity: self.capacity,
            });
        }
        let queued = Instant::now();
        for task in tasks {
            let seq = state.next_seq;
            state.next_seq += 1;
            state.jobs.push_back(Job { task, queued, seq });
        }
        self.metrics.queue_depth(state.jobs.len());
        drop(state);
        self.wake.notify_all();
        Ok(())
    }

    /// Queues the texts of one predict request; the receiver gets their results in order.
    pub(crate) fn predict(
        &self,
        texts: Vec<String>,
    ) -> Result<oneshot::Receiver<PredictResult>, Rejected> {
        let (tx, rx) = oneshot::channel();
        if texts.is_empty() {
            let _ = tx.send(Ok(Vec::new()));
            return Ok(rx);
        }
        let request = Arc::new(Request(Mutex::new(Slot {
            results: vec![None; texts.len()],
            remaining: texts.len(),
            reply: Some(tx),
        })));
        let tasks = texts
            .into_iter()
            .enumerate()
            .map(|(index, text)| {
                Task::Text(TextJob {
                    text,
                    index,
                    request: Arc::clone(&request),
                })
            })
            .collect();
        self.push(tasks)?;
        Ok(rx)
    }

    /// Queues one explain job.
    pub(crate) fn explain(
        &self,
        text: String,
        opts: ExplainOptions,
    ) -> Result<oneshot::Receiver<ExplainResult>, Rejected> {
        let (reply, rx) = oneshot::channel();
        self.push(vec![Task::Explain(ExplainJob { text, opts, reply })])?;
        Ok(rx)
    }

    /// Refuses new jobs; the threads finish the queued ones, then stop.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.wake.notify_all();
    }

    /// The next work for an inference thread (see the module docs); `None` once the queue is
    /// closed and empty.
    fn next(&self) -> Option<Work> {
        let mut state = self.lock();
        'wait: loop {
            while state.jobs.is_empty() {
                if state.closed {
                    return None;
                }
                state = self
                    .wake
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            let (first_seq, first_queued) = match state.jobs.front() {
                Some(Job {
                    task: Task::Explain(_),
                    ..
                }) => {
                    let job = state.jobs.pop_front();
                    self.taken(&state);
                    match job.map(|j| j.task) {
                        Some(Task::Explain(job)) => return Some(Work::Explain(job)),
                        _ => continue 'wait,
                    }
                }
                Some(job) => (job.seq, job.queued),
                None => continue 'wait,
            };
            let deadline = first_queued + self.max_wait;
            loop {
                let now = Instant::now();
                if state.closed || now >= deadline || self.leading_texts(&state) >= self.max_batch {
                    break;
                }
                state = self
                    .wake
                    .wait_timeout(state, deadline - now)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
                if state.jobs.front().map(|j| j.seq) != Some(first_seq) {
                    // Another thread took this batch.
                    continue 'wait;
                }
            }
            let n = self.leading_texts(&state);
            let texts: Vec<TextJob> = state
                .jobs
                .drain(..n)
                .filter_map(|job| match job.task {
                    Task::Text(t) => Some(t),
                    Task::Explain(_) => None,
                })
                .collect();
            self.taken(&state);
            return Some(Work::Texts(texts));
        }
    }

    /// The number of text jobs at the head of the queue, at most `max_batch`.
    fn leading_texts(&self, state: &State) -> usize {
        state
            .jobs
            .iter()
            .take(self.max_batch)
            .take_while(|j| matches!(j.task, Task::Text(_)))
            .count()
    }

    /// After jobs were taken: the gauge, and the other threads may look at the new head.
    fn taken(&self, state: &State) {
        self.metrics.queue_depth(state.jobs.len());
        self.wake.notify_all();
    }
}

/// A model's inference threads and their queue.
pub(crate) struct Batcher {
    queue: Arc<Queue>,
    threads: Vec<JoinHandle<()>>,
}

impl Batcher {
    /// Starts `threads` inference threads named `infer-NAME-I` over `queue`.
    pub(crate) fn start(
        name: &str,
        queue: Arc<Queue>,
        engine: Arc<dyn Engine>,
        threads: usize,
    ) -> std::io::Result<Self> {
        let mut handles = Vec::with_capacity(threads);
        for i in 0..threads.max(1) {
            let queue_ = Arc::clone(&queue);
            let engine = Arc::clone(&engine);
            let spawned = std::thread::Builder::new()
                .name(format!("infer-{name}-{i}"))
                .spawn(move || {
                    textrnn::with_subnormal_mode(|| work(&queue_, engine.as_ref()));
                });
            match spawned {
                Ok(handle) => handles.push(handle),
                Err(e) => {
                    // Stop the threads already started before reporting.
                    Self {
                        queue,
                        threads: handles,
                    }
                    .shutdown();
                    return Err(e);
                }
            }
        }
        Ok(Self {
            queue,
            threads: handles,
        })
    }

    /// Closes the queue, lets the threads finish the queued jobs, and joins them.
    pub(crate) fn shutdown(self) {
        self.queue.close();
        for handle in self.threads {
            if handle.join().is_err() {
                tracing::error!("an inference thread panicked");
            }
        }
    }
}

/// An inference thread: takes work until the queue is closed and empty.
fn work(queue: &Queue, engine: &dyn Engine) {
    while let Some(work) = queue.next() {
        match work {
            Work::Texts(jobs) => predict_batch(queue, engine, jobs),
            Work::Explain(job) => explain(engine, job),
        }
    }
}

/// The message of a caught panic.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown cause".into());
    format!("the model panicked: {what}")
}

/// One forward pass over the texts of live requests; each result goes to its request.
fn predict_batch(queue: &Queue, engine: &dyn Engine, jobs: Vec<TextJob>) {
    let jobs: Vec<TextJob> = jobs
        .into_iter()
        .filter(|j| !j.request.abandoned())
        .collect();
    if jobs.is_empty() {
        return;
    }
    let texts: Vec<&str> = jobs.iter().map(|j| j.text.as_str()).collect();
    queue.metrics.batch(texts.len());
    let outcome = match catch_unwind(AssertUnwindSafe(|| engine.predict(&texts))) {
        Ok(Ok(predictions)) if predictions.len() == texts.len() => Ok(predictions),
        Ok(Ok(predictions)) => Err(format!(
            "the model returned {} predictions for {} texts",
            predictions.len(),
            texts.len()
        )),
        Ok(Err(e)) => Err(e.to_string()),
        Err(panic) => Err(panic_message(panic.as_ref())),
    };
    match outcome {
        Ok(predictions) => {
            for (job, prediction) in jobs.iter().zip(predictions) {
                job.request.fill(job.index, prediction);
            }
        }
        Err(message) => {
            tracing::error!("a batch of {} texts failed: {message}", texts.len());
            for job in &jobs {
                job.request.fail(&message);
            }
        }
    }
}

/// One explanation, unless its handler has gone.
fn explain(engine: &dyn Engine, job: ExplainJob) {
    if job.reply.is_closed() {
        return;
    }
    let result = match catch_unwind(AssertUnwindSafe(|| engine.explain(&job.text, &job.opts))) {
        Ok(Ok(explanation)) => Ok(explanation),
        Ok(Err(e @ textrnn::Error::Invalid { .. })) => Err(Failure::BadInput(e.to_string())),
        Ok(Err(e)) => Err(Failure::Internal(e.to_string())),
        Err(panic) => Err(Failure::Internal(panic_message(panic.as_ref()))),
    };
    let _ = job.reply.send(result);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::mpsc;

    use super::*;
    use crate::metrics::Metrics;

    /// An engine whose prediction is the text's length, which records its batch sizes and can
    /// be held (each forward pass waits for a token on `gate` when it is set).
    struct Fake {
        batches: Mutex<Vec<usize>>,
        gate: Option<Mutex<mpsc::Receiver<()>>>,
    }

    impl Engine for Fake {
        fn predict(&self, texts: &[&str]) -> textrnn::Result<Vec<Option<RowPrediction>>> {
            if let Some(gate) = &self.gate {
                gate.lock().unwrap().recv().unwrap();
            }
            self.batches.lock().unwrap().push(texts.len());
            if texts.contains(&"panic") {
                panic!("boom");
            }
            Ok(texts
                .iter()
                .map(|t| {
                    (!t.is_empty()).then(|| RowPrediction {
                        label: 0,
                        probs: vec![t.len() as f32],
                        labels: None,
                    })
                })
                .collect())
        }

        fn explain(&self, _: &str, _: &ExplainOptions) -> textrnn::Result<Explanation> {
            Err(textrnn::Error::Invalid {
                field: "text".into(),
                reason: "fake".into(),
            })
        }
    }

    fn start(
        capacity: usize,
        max_batch: usize,
        max_wait_ms: u64,
        gate: Option<mpsc::Receiver<()>>,
    ) -> (Arc<Queue>, Arc<Fake>, Batcher) {
        start_threads(capacity, max_batch, max_wait_ms, gate, 1)
    }

    fn start_threads(
        capacity: usize,
        max_batch: usize,
        max_wait_ms: u64,
        gate: Option<mpsc::Receiver<()>>,
        threads: usize,
    ) -> (Arc<Queue>, Arc<Fake>, Batcher) {
        let metrics = Metrics::new().model("fake");
        let queue = Arc::new(Queue::new(
            capacity,
            max_batch,
            Duration::from_millis(max_wait_ms),
            metrics,
        ));
        let fake = Arc::new(Fake {
            batches: Mutex::new(Vec::new()),
            gate: gate.map(Mutex::new),
        });
        let engine: Arc<dyn Engine> = fake.clone();
        let batcher = Batcher::start("fake", Arc::clone(&queue), engine, threads).unwrap();
        (queue, fake, batcher)
    }

    fn lengths(result: PredictResult) -> Vec<Option<f32>> {
        result
            .unwrap()
            .into_iter()
            .map(|p| p.map(|p| p.probs[0]))
            .collect()
    }

    #[test]
    fn concurrent_requests_share_batches_and_get_their_own_results_in_order() {
        let (tx, gate) = mpsc::channel();
        let (queue, fake, batcher) = start(100, 4, 0, Some(gate));
        // The first text is taken alone and held; the next ones wait and form batches of 4.
        let first = queue.predict(vec!["x".into()]).unwrap();
        while queue.lock().jobs.len() == 1 {
            std::thread::yield_now();
        }
        let a = queue
            .predict(vec!["aa".into(), "".into(), "aaaa".into()])
            .unwrap();
        let b = queue.predict(vec!["bbbbb".into(); 3]).unwrap();
        for _ in 0..3 {
            tx.send(()).unwrap();
        }
        assert_eq!(lengths(first.blocking_recv().unwrap()), [Some(1.0)]);
        assert_eq!(
            lengths(a.blocking_recv().unwrap()),
            [Some(2.0), None, Some(4.0)]
        );
        assert_eq!(lengths(b.blocking_recv().unwrap()), [Some(5.0); 3]);
        batcher.shutdown();
        // Request a's texts and the first of b in one pass, the rest of b in the next.
        assert_eq!(*fake.batches.lock().unwrap(), [1, 4, 2]);
    }

    #[test]
    fn a_batch_waits_for_more_texts_up_to_max_wait() {
        let (queue, fake, batcher) = start(100, 8, 200, None);
        let a = queue.predict(vec!["a".into()]).unwrap();
        let b = queue.predict(vec!["bb".into()]).unwrap();
        assert_eq!(lengths(a.blocking_recv().unwrap()), [Some(1.0)]);
        assert_eq!(lengths(b.blocking_recv().unwrap()), [Some(2.0)]);
        batcher.shutdown();
        assert_eq!(*fake.batches.lock().unwrap(), [2]);
    }

    #[test]
    fn a_full_queue_refuses_the_whole_request() {
        let (tx, gate) = mpsc::channel();
        let (queue, _, batcher) = start(3, 1, 0, Some(gate));
        let held = queue.predict(vec!["x".into()]).unwrap();
        while !queue.lock().jobs.is_empty() {
            std::thread::yield_now();
        }
        let queued = queue.predict(vec!["y".into(), "z".into()]).unwrap();
        assert_eq!(
            queue.predict(vec!["1".into(), "2".into()]).unwrap_err(),
            Rejected::Full {
                waiting: 2,
                capacity: 3
            }
        );
        let one_more = queue.predict(vec!["w".into()]).unwrap();
        for _ in 0..4 {
            tx.send(()).unwrap();
        }
        assert_eq!(lengths(held.blocking_recv().unwrap()), [Some(1.0)]);
        assert_eq!(lengths(queued.blocking_recv().unwrap()), [Some(1.0); 2]);
        assert_eq!(lengths(one_more.blocking_recv().unwrap()), [Some(1.0)]);
        batcher.shutdown();
        assert_eq!(
            queue.predict(vec!["late".into()]).unwrap_err(),
            Rejected::Closed
        );
    }

    #[test]
    fn abandoned_requests_are_skipped_and_a_panic_fails_only_its_batch() {
        let (tx, gate) = mpsc::channel();
        let (queue, fake, batcher) = start(100, 1, 0, Some(gate));
        let held = queue.predict(vec!["held".into()]).unwrap();
        while !queue.lock().jobs.is_empty() {
            std::thread::yield_now();
        }
        drop(queue.predict(vec!["gone".into()]).unwrap());
        let boom = queue.predict(vec!["panic".into()]).unwrap();
        let after = queue.predict(vec!["ok".into()]).unwrap();
        for _ in 0..3 {
            tx.send(()).unwrap();
        }
        assert_eq!(lengths(held.blocking_recv().unwrap()), [Some(4.0)]);
        assert_eq!(
            boom.blocking_recv().unwrap().unwrap_err(),
            "the model panicked: boom"
        );
        assert_eq!(lengths(after.blocking_recv().unwrap()), [Some(2.0)]);
        batcher.shutdown();
        // "gone" never reached the model.
        assert_eq!(*fake.batches.lock().unwrap(), [1, 1, 1]);
    }

    #[test]
    fn explain_jobs_run_alone_between_batches() {
        let (queue, fake, batcher) = start(100, 8, 0, None);
        let e = queue
            .explain("t".into(), ExplainOptions::default())
            .unwrap();
        assert_eq!(
            e.blocking_recv().unwrap().unwrap_err(),
            Failure::BadInput("invalid text: fake".into())
        );
        batcher.shutdown();
        assert!(fake.batches.lock().unwrap().is_empty());
    }

    #[test]
    fn several_threads_share_one_queue() {
        let (queue, fake, batcher) = start_threads(1000, 3, 1, None, 3);
        let receivers: Vec<_> = (1..=40)
            .map(|n| (n, queue.predict(vec!["x".repeat(n); n % 5 + 1]).unwrap()))
            .collect();
        for (n, rx) in receivers {
            assert_eq!(
                lengths(rx.blocking_recv().unwrap()),
                vec![Some(n as f32); n % 5 + 1]
            );
        }
        batcher.shutdown();
        let batches = fake.batches.lock().unwrap();
        assert_eq!(
            batches.iter().sum::<usize>(),
            (1..=40usize).map(|n| n % 5 + 1).sum::<usize>()
        );
        assert!(batches.iter().all(|&b| (1..=3).contains(&b)), "{batches:?}");
    }
}
