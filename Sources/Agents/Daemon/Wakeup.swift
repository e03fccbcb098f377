import Synchronization

/// A sleep that can be cut short: `await wakeup.sleep(for:)` returns early
/// once `fire()` is called (and at once for every later sleep).
final class Wakeup: Sendable {
    private let state = Mutex<(fired: Bool, waiters: [UInt64: CheckedContinuation<Void, Never>], next: UInt64)>((false, [:], 0))

    var hasFired: Bool { state.withLock { $0.fired } }

    /// Ends every current and future sleep.
    func fire() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.fired = true
            defer { s.waiters.removeAll() }
            return Array(s.waiters.values)
        }
        for w in waiters { w.resume() }
    }

    /// Sleeps up to `duration`, less if fired.
    func sleep(for duration: Duration) async {
        let id = state.withLock { s -> UInt64 in s.next += 1; return s.next }
        let timer = Task { [self] in
            try? await Task.sleep(for: duration)
            resume(id)
        }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.fired { return true }
                s.waiters[id] = c
                return false
            }
            if now { c.resume() }
        }
        timer.cancel()
    }

    private func resume(_ id: UInt64) {
        state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
    }
}
