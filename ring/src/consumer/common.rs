//! The methods every consumer handle has, written once and forwarded to its `Reader`.

/// The methods every consumer handle has, forwarded to its `Reader` (`self.reader`).
macro_rules! common_reader_methods {
    () => {
        /// This consumer's block index in the region.
        pub fn index(&self) -> usize {
            self.reader.core.index
        }

        /// The next sequence this consumer reads.
        pub fn next_seq(&self) -> u64 {
            self.reader.core.next
        }

        /// The sequence this consumer asked to start at (its [`Start`](crate::Start), resolved
        /// when it registered).
        pub fn start_seq(&self) -> u64 {
            self.reader.core.start
        }

        /// The first sequence the registration handshake protects: from here on a lossless
        /// consumer of a ring that is not overwritable holds producers back, so its frames cannot
        /// be rewritten before it releases them. Frames below it that the consumer asked for (an
        /// `Oldest` or `Seq` start) may be rewritten while held: they are read as checked copies,
        /// and those gone before the first frame is handed out count in
        /// [`missed_at_start`](Self::missed_at_start). A reader that walks the region itself (the
        /// JVM's) needs it to follow the same rule.
        pub fn protected_from(&self) -> u64 {
            self.reader.core.protected_from
        }

        /// The sequence of the first frame handed out, if any yet.
        pub fn first_seq(&self) -> Option<u64> {
            self.reader.core.first_seq
        }

        /// Frames from [`start_seq`](Self::start_seq) on that were no longer in the ring when
        /// this consumer came to them, before it handed out its first frame (a late start).
        pub fn missed_at_start(&self) -> u64 {
            self.reader.core.missed_at_start
        }

        /// Frames handed out so far.
        pub fn delivered(&self) -> u64 {
            self.reader.core.delivered
        }

        /// Frames this consumer never got after its first one (overwritten before it read them,
        /// or corrupt).
        pub fn lost(&self) -> u64 {
            self.reader.core.lost
        }

        /// Times this consumer was lapped.
        pub fn lapped(&self) -> u64 {
            self.reader.core.lapped
        }

        /// Views read in place that were found overwritten when released.
        pub fn torn(&self) -> u64 {
            self.reader.core.torn
        }

        /// How often a waiting consumer looks whether the producer's process is still alive
        /// (50 ms by default).
        pub fn set_liveness_interval(&mut self, interval: std::time::Duration) {
            self.reader.core.liveness = interval.max(std::time::Duration::from_millis(1));
        }

        /// Copies the next frame into `buf` and advances, or returns `None` if no frame is there.
        /// Never returns a torn frame: a frame overwritten during the copy is counted lost and
        /// the next one is read instead.
        ///
        /// Errors: [`RecvError::InvalidArgument`](crate::RecvError::InvalidArgument) (consuming nothing)
        /// if `buf` is shorter than the frame; [`RecvError::FrameHeld`](crate::RecvError::FrameHeld) if a
        /// frame from `poll_held` is not released yet.
        pub fn read_into(
            &mut self,
            buf: &mut [u8],
        ) -> Result<Option<crate::FrameInfo>, crate::RecvError> {
            self.reader.read_into(buf)
        }

        /// [`read_into`](Self::read_into), waiting at most `timeout` (forever if `None`) for a
        /// frame. Errors as `recv`'s: `Timeout`, `Closed`, `ProducerGone`, `Evicted`.
        pub fn recv_into(
            &mut self,
            buf: &mut [u8],
            timeout: Option<std::time::Duration>,
        ) -> Result<crate::FrameInfo, crate::RecvError> {
            self.reader.recv_into(buf, timeout)
        }

        /// Copies up to `infos.len()` consecutive frames into `buf`, frame `i` at
        /// `buf[i * slot_size ..]` (so `buf` holds `buf.len() / slot_size` frames at most), each
        /// checked as [`read_into`](Self::read_into) checks one: none is torn. Returns how many
        /// it copied (0 if no frame is there); `infos[..n]` describe them.
        ///
        /// ```
        /// # use ringflow::{FrameInfo, FullPolicy, ProducerOptions, Ring, RingConfig};
        /// # let ring = Ring::anonymous(&RingConfig::new(8, 16).overwritable(true))?;
        /// let mut lossy = ring.lossy_consumer()?;
        /// let mut producer = ring.producer(ProducerOptions::new(FullPolicy::Overwrite))?;
        /// for frame in [b"a", b"b", b"c"] {
        ///     producer.push(frame)?;
        /// }
        /// let (mut buf, mut infos) = ([0u8; 4 * 16], [FrameInfo::default(); 4]);
        /// let n = lossy.read_batch_into(&mut buf, &mut infos)?;
        /// assert_eq!((n, infos[2].seq, &buf[32..33]), (3, 2, &b"c"[..]));
        /// # Ok::<(), ringflow::Error>(())
        /// ```
        pub fn read_batch_into(
            &mut self,
            buf: &mut [u8],
            infos: &mut [crate::FrameInfo],
        ) -> Result<usize, crate::RecvError> {
            let slot = self.reader.core.mem.geometry().slot_payload as usize;
            let max = infos.len().min(buf.len() / slot.max(1));
            for (i, info) in infos.iter_mut().enumerate().take(max) {
                match self.reader.read_into(&mut buf[i * slot..(i + 1) * slot])? {
                    Some(got) => *info = got,
                    None => return Ok(i),
                }
            }
            Ok(max)
        }

        /// [`read_batch_into`](Self::read_batch_into), waiting at most `timeout` (forever if
        /// `None`) for the first frame. Never returns 0 unless `buf` or `infos` holds none.
        pub fn recv_batch_into(
            &mut self,
            buf: &mut [u8],
            infos: &mut [crate::FrameInfo],
            timeout: Option<std::time::Duration>,
        ) -> Result<usize, crate::RecvError> {
            let deadline = timeout.map(|t| std::time::Instant::now() + t);
            loop {
                let n = self.read_batch_into(buf, infos)?;
                let slot = self.reader.core.mem.geometry().slot_payload as usize;
                if n > 0 || infos.is_empty() || buf.len() < slot {
                    return Ok(n);
                }
                let left = deadline.map(|d| d.saturating_duration_since(std::time::Instant::now()));
                self.reader.core.wait(left)?;
            }
        }

        /// The next frame for a caller that cannot hold a borrow (a foreign runtime): a token
        /// with its facts and a pointer to its payload (in place if the frame is protected, else
        /// a checked copy in the consumer's buffer: never torn; see
        /// [`HeldFrame::payload_ptr`](crate::HeldFrame::payload_ptr)), valid until
        /// [`release_held`](Self::release_held) takes the token back (while the consumer and its
        /// ring live). Returns `None` if no frame is there; fails with
        /// [`RecvError::FrameHeld`](crate::RecvError::FrameHeld) while the previous one is held.
        pub fn poll_held(&mut self) -> Result<Option<crate::HeldFrame>, crate::RecvError> {
            self.reader.poll_held()
        }

        /// Done with the frame [`poll_held`](Self::poll_held) handed out: moves the cursor past
        /// it. `Ok(true)` if it was still intact, `Ok(false)` if a producer rewrote a frame
        /// read in place while it was held, which only an eviction allows (counted as torn: its
        /// bytes must be discarded). A token from another consumer,
        /// or not the frame held, is refused with a [`ReleaseError`](crate::ReleaseError) that
        /// gives it back, and nothing moves.
        pub fn release_held(
            &mut self,
            frame: crate::HeldFrame,
        ) -> Result<bool, crate::ReleaseError> {
            self.reader.release_held(frame)
        }

        /// Waits until a frame is there (or the ring closed, or the producer died), at most
        /// `timeout`: spins briefly, then parks on the futex. It may return `Ok` early with
        /// nothing to read ([`Ring::wake_waiters`](crate::Ring::wake_waiters), or a liveness
        /// check of a file-backed ring): poll again, and wait again if there is nothing.
        pub fn wait(
            &mut self,
            timeout: Option<std::time::Duration>,
        ) -> Result<(), crate::RecvError> {
            self.reader.core.wait(timeout)
        }

        /// Whether frames may still come, without waiting: `Closed`, `ProducerGone` or
        /// `Replaced` once they cannot and nothing is left to read, `Evicted` if a producer
        /// evicted this consumer, `Ok` otherwise.
        pub fn check_producer(&mut self) -> Result<(), crate::RecvError> {
            self.reader.core.check_live()
        }
    };
}

/// The safe views of the handles that have them (`Consumer`, `AnyConsumer`): in place for a
/// protected frame, a checked copy for any other (`Fetch::CopyUnprotected`).
macro_rules! checked_view_methods {
    () => {
        /// The next frame as a view, or `None` if there is none yet. The cursor advances when the
        /// view is dropped.
        ///
        /// ```
        /// # use ringflow::{ProducerOptions, Ring, RingConfig};
        /// # let ring = Ring::anonymous(&RingConfig::new(4, 16))?;
        /// let mut consumer = ring.consumer()?;
        /// assert!(consumer.poll()?.is_none());
        /// ring.producer(ProducerOptions::default())?.push(b"x")?;
        /// let frame = consumer.poll()?.unwrap();
        /// assert_eq!((frame.seq(), frame.payload()), (0, &b"x"[..]));
        /// # Ok::<(), ringflow::Error>(())
        /// ```
        #[inline]
        pub fn poll(&mut self) -> Result<Option<Frame<'_>>, RecvError> {
            self.reader.poll_view(Fetch::CopyUnprotected)
        }

        /// Waits for the next frame at most `timeout` (forever if `None`) and returns it as a view.
        ///
        /// Errors: [`RecvError::Timeout`]; [`RecvError::Closed`]
        /// once the last producer detached and every frame was read;
        /// [`RecvError::ProducerGone`] if the producer's process died (every
        /// frame it committed is read first); [`RecvError::Evicted`].
        pub fn recv(&mut self, timeout: Option<Duration>) -> Result<Frame<'_>, RecvError> {
            self.reader.recv_view(Fetch::CopyUnprotected, timeout)
        }

        /// Up to `max` consecutive frames as views; the cursor advances once, when the batch is
        /// dropped. Empty if no frame is there. An unprotected frame comes alone, as a checked copy.
        pub fn poll_batch(&mut self, max: usize) -> Result<Batch<'_>, RecvError> {
            self.reader.poll_batch(Fetch::CopyUnprotected, max)
        }

        /// Waits for the next frame at most `timeout` (forever if `None`), as [`recv`](Self::recv)
        /// does, and returns it with the frames ready after it, up to `max`, as
        /// [`poll_batch`](Self::poll_batch) does. Never empty.
        ///
        /// Errors: those of [`recv`](Self::recv), and
        /// [`RecvError::InvalidArgument`] if `max` is 0.
        ///
        /// ```
        /// # use ringflow::{ProducerOptions, Ring, RingConfig};
        /// # let ring = Ring::anonymous(&RingConfig::new(4, 16))?;
        /// let mut consumer = ring.consumer()?;
        /// let mut producer = ring.producer(ProducerOptions::default())?;
        /// producer.push(b"a")?;
        /// producer.push(b"b")?;
        /// let batch = consumer.recv_batch(16, None)?;
        /// assert_eq!(batch.len(), 2);
        /// # Ok::<(), ringflow::Error>(())
        /// ```
        pub fn recv_batch(
            &mut self,
            max: usize,
            timeout: Option<Duration>,
        ) -> Result<Batch<'_>, RecvError> {
            self.reader.recv_batch(Fetch::CopyUnprotected, max, timeout)
        }
    };
}
