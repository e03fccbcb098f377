import NIOCore
import RESP
import Testing

@Suite("Blocking command timeouts")
struct BlockingTimeoutTests {
    func timeout(_ argv: [String]) -> TimeAmount? {
        RedisCommandTable.info(for: argv)?.blockingTimeout(in: argv)
    }

    @Test("seconds, milliseconds, forever")
    func timeouts() {
        #expect(timeout(["BRPOP", "a", "b", "1.5"]) == .milliseconds(1500))
        #expect(timeout(["BRPOP", "a", "0"]) == nil)
        #expect(timeout(["BLMOVE", "a", "b", "LEFT", "RIGHT", "2"]) == .seconds(2))
        #expect(timeout(["BLMPOP", "3", "1", "a", "LEFT"]) == .seconds(3))
        #expect(timeout(["XREAD", "COUNT", "1", "BLOCK", "250", "STREAMS", "s", "$"]) == .milliseconds(250))
        #expect(timeout(["XREAD", "STREAMS", "s", "0"]) == nil)
        #expect(timeout(["WAIT", "1", "100"]) == .milliseconds(100))
        // WAIT blocks too but Redis 7.0 does not flag it; it has a rule anyway.
        #expect(RedisCommandTable.all.filter(\.isBlocking).map(\.name).sorted() ==
                ["blmove", "blmpop", "blpop", "brpop", "brpoplpush", "bzmpop", "bzpopmax", "bzpopmin", "xread", "xreadgroup"],
                "a new blocking command needs its timeout rule")
    }
}
