import Synchronization

/// The flights in the air, by key: a cacheable request that misses the cache joins the one for
/// its key, or becomes the leader of a new one. Bounded: past ``maxFlights`` a request goes alone.
final class Flights: Sendable {
    private let flights = Mutex<[CacheKey: Flight]>([:])
    static let maxFlights = 10_000

    enum Place {
        /// Its answer comes from the flight's leader.
        case follower(Flight)
        /// It makes the call; its writer records into the flight.
        case leader(Flight)
        /// It makes the call alone (too many flights).
        case alone
    }

    func enter(_ key: CacheKey, follower: FlightFollower, maxAge: Duration, makeFlight: () -> Flight) -> Place {
        flights.withLock { flights in
            if let flight = flights[key], ContinuousClock.now - flight.started < maxAge, flight.join(follower) { return .follower(flight) }
            guard flights.count < Self.maxFlights || flights[key] != nil else { return .alone }
            let flight = makeFlight()
            flights[key] = flight
            return .leader(flight)
        }
    }

    /// A flight is over: later requests for its key no longer join it.
    func land(_ flight: Flight) {
        flights.withLock { flights in
            if flights[flight.key] === flight { flights[flight.key] = nil }
        }
    }

    var count: Int { flights.withLock { $0.count } }
}
