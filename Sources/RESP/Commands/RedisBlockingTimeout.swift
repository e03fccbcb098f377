public import NIOCore

extension RedisCommandInfo {
    /// True for commands that may block (`blocking` flag or `@blocking` category).
    public var isBlocking: Bool {
        flags.contains(.blocking) || categories.contains(.blocking)
    }

    /// How long a blocking command line asks the server to block: the
    /// seconds argument of `BRPOP`/`BLPOP`/`BLMOVE`/`BRPOPLPUSH`/`BZPOPMIN`/
    /// `BZPOPMAX` (last) and `BLMPOP`/`BZMPOP` (first), the milliseconds of
    /// `XREAD`/`XREADGROUP … BLOCK ms` and of `WAIT n ms`. Nil when it blocks
    /// forever (0), or when the command is not one of these.
    public func blockingTimeout<Argument: RedisArgument>(in arguments: some RandomAccessCollection<Argument>) -> TimeAmount? {
        let argv = Array(arguments)
        func seconds(_ i: Int) -> TimeAmount? {
            guard i > 0, i < argv.count, let s = Double(String(decoding: argv[i].bytes, as: UTF8.self)), s > 0 else { return nil }
            return .nanoseconds(Int64(s * 1e9))
        }
        func milliseconds(_ i: Int) -> TimeAmount? {
            guard i > 0, i < argv.count, let ms = argv[i].integerValue, ms > 0 else { return nil }
            return .milliseconds(Int64(ms))
        }
        switch name {
        case "blpop", "brpop", "blmove", "brpoplpush", "bzpopmin", "bzpopmax": return seconds(argv.count - 1)
        case "blmpop", "bzmpop": return seconds(1)
        case "wait": return milliseconds(argv.count - 1)
        case "xread", "xreadgroup":
            guard let block = argv.firstIndex(where: { $0.equalsIgnoringCase("BLOCK") }) else { return nil }
            return milliseconds(block + 1)
        default: return nil
        }
    }
}
