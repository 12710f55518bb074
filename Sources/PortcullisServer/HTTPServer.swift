import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import PortcullisCore
import PortcullisLinux

/// One request as the responder sees it. Only GET and HEAD are served, so
/// a body is never kept (it is read, counted and dropped).
struct HTTPRequest: Sendable {
    var method: HTTPMethod
    var target: RequestTarget
    var headers: HTTPHeaders
}

/// One response: status, headers and the whole body (every endpoint
/// renders its document before answering).
struct HTTPReply: Sendable {
    var status: HTTPResponseStatus
    var headers = HTTPHeaders()
    var body: [UInt8]

    init(_ status: HTTPResponseStatus, body: [UInt8], contentType: String) {
        self.status = status
        self.body = body
        headers.add(name: "Content-Type", value: contentType)
    }

    /// Sets `name` to `value`, replacing any earlier value.
    mutating func set(_ name: String, _ value: String) { headers.replaceOrAdd(name: name, value: value) }
}

/// `serve`'s HTTP/1.1 server, on SwiftNIO: keep-alive and pipelined
/// requests answered in order, TLS from NIOSSL, a 30 s idle timeout, limits
/// on headers and bodies, and a graceful stop that lets answers in flight
/// finish. It answers a handful of GET endpoints, so it is this small
/// rather than a web framework (which cost the static binary 4 MB).
final class HTTPServer: Sendable {
    /// Where and how to listen.
    struct Configuration: Sendable {
        var host: String
        var port: Int
        /// nil for plain HTTP.
        var tls: NIOSSLContext?
        /// A connection that sends nothing this long (and has no answer in the works) is closed.
        var idleTimeout = TimeAmount.seconds(30)
        /// A request body beyond this many bytes gets 413 and the connection is closed.
        var maxBodyBytes = 64 * 1024
        /// Limits on the request's header section: an exporter's clients send a few short headers.
        var maxHeaderBytes = 64 * 1024
        var maxHeaderCount = 200

        var decoderLimits: NIOHTTPDecoderLimitConfiguration {
            var limits = NIOHTTPDecoderLimitConfiguration()
            limits.maxHeaderFieldSize = maxHeaderBytes
            limits.maxHeaderListSize = maxHeaderBytes
            limits.maxHeaderFieldCount = maxHeaderCount
            return limits
        }
    }

    /// Answers one request; called on Swift concurrency's executor, not an event loop.
    typealias Responder = @Sendable (HTTPRequest) async -> HTTPReply

    private let listener: any Channel
    private let connections: ConnectionRegistry

    /// The bound address (the port the kernel chose for port 0).
    var localAddress: SocketAddress? { listener.localAddress }

    /// Binds and starts accepting. Throws NIO's error when the address cannot be bound.
    init(_ configuration: Configuration, group: any EventLoopGroup, responder: @escaping Responder) throws {
        let ssl = configuration.tls
        let limits = configuration.decoderLimits
        let connections = ConnectionRegistry()
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    // First, so that the bytes of a TLS handshake count as activity too.
                    try pipeline.addHandler(IdleStateHandler(readTimeout: configuration.idleTimeout))
                    if let ssl { try pipeline.addHandler(NIOSSLServerHandler(context: ssl)) }
                    // Pipelining assistance: one request at a time per connection, answered in order;
                    // error handling: a request that is not HTTP gets 400 and the connection ends.
                    try pipeline.configureHTTPServerPipeline(
                        withPipeliningAssistance: true, withErrorHandling: true, withOutboundHeaderValidation: true,
                        withEncoderConfiguration: .init(), withDecoderLimitConfiguration: limits)
                    try pipeline.addHandler(HTTPConnectionHandler(responder: responder, maxBodyBytes: configuration.maxBodyBytes))
                    connections.add(channel)
                }
            }
        listener = try bootstrap.bind(host: configuration.host, port: configuration.port).wait()
        self.connections = connections
    }

    /// Stops accepting, lets each connection finish the answer it is
    /// writing (idle ones close at once), and after `grace` closes the rest.
    func stop(grace: TimeAmount = .seconds(10)) {
        try? listener.close().wait()
        let open = connections.all
        for channel in open { channel.pipeline.fireUserInboundEventTriggered(HTTPConnectionHandler.Quiesce()) }
        let deadline = listener.eventLoop.scheduleTask(in: grace) {
            for channel in open { channel.close(promise: nil) }
        }
        for channel in open { try? channel.closeFuture.wait() }
        deadline.cancel()
    }
}

/// The open connections, so that a stop can reach each one.
final class ConnectionRegistry: Sendable {
    private let channels = Locked([ObjectIdentifier: any Channel]())

    func add(_ channel: any Channel) {
        let key = ObjectIdentifier(channel)
        channels.withLock { $0[key] = channel }
        channel.closeFuture.whenComplete { [self] _ in _ = channels.withLock { $0.removeValue(forKey: key) } }
    }

    var all: [any Channel] { channels.withLock { Array($0.values) } }
}

/// One connection's requests: collects each request's head, counts and
/// drops its body, and at its end asks the responder, then writes the
/// answer. Runs on the connection's event loop.
final class HTTPConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// Sent by `HTTPServer.stop`: finish the answer in hand, then close.
    struct Quiesce: Sendable {}

    /// Where the connection is in its current exchange.
    enum Phase {
        /// Between requests, or reading one.
        case reading
        /// The responder is working on an answer.
        case answering
        /// The answer is being written (the client may be slow to take it).
        case writing
    }

    let responder: HTTPServer.Responder
    let maxBodyBytes: Int
    private var head: HTTPRequestHead?
    private var bodyBytes = 0
    /// The request's body was too large and has been answered with 413.
    private var refused = false
    private var phase = Phase.reading
    private var closeWhenAnswered = false

    init(responder: @escaping HTTPServer.Responder, maxBodyBytes: Int) {
        self.responder = responder
        self.maxBodyBytes = maxBodyBytes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            bodyBytes = 0
            refused = false
        case .body(let chunk):
            bodyBytes += chunk.readableBytes
            if refused {
                // Draining what the client already sent, so the close is a FIN it reads after the 413, not a reset;
                // a client that keeps sending is cut off.
                if bodyBytes > 16 * maxBodyBytes { context.close(promise: nil) }
            } else if bodyBytes > maxBodyBytes, let requestHead = head {
                refused = true
                closeWhenAnswered = true
                let text = "the request body is larger than \(maxBodyBytes) bytes; the endpoints take none\n"
                write(
                    HTTPReply(.payloadTooLarge, body: Array(text.utf8), contentType: "text/plain; charset=utf-8"), for: requestHead,
                    closeAfter: false, context: context)
            }
        case .end:
            guard let requestHead = head else { return }
            head = nil
            if refused {
                // The 413 went out; the request is over, so the connection can end cleanly.
                context.close(promise: nil)
                return
            }
            phase = .answering
            let request = HTTPRequest(
                method: requestHead.method, target: RequestTarget(requestHead.uri), headers: requestHead.headers)
            let promise = context.eventLoop.makePromise(of: HTTPReply.self)
            promise.completeWithTask { [responder] in await responder(request) }
            promise.futureResult.assumeIsolated().whenSuccess { reply in
                self.write(reply, for: requestHead, closeAfter: true, context: context)
            }
        }
    }

    /// Writes `reply`; `closeAfter`: close once written if the connection is not kept alive
    /// (false for an early answer, whose request is still arriving).
    func write(_ reply: HTTPReply, for request: HTTPRequestHead, closeAfter: Bool, context: ChannelHandlerContext) {
        phase = .writing
        let keepAlive = request.isKeepAlive && !closeWhenAnswered
        var headers = reply.headers
        headers.replaceOrAdd(name: "Content-Length", value: String(reply.body.count))
        headers.replaceOrAdd(name: "Date", value: Timestamp.httpDate(Clock.realtimeMilliseconds() / 1000))
        if !keepAlive {
            headers.replaceOrAdd(name: "Connection", value: "close")
        } else if request.version.major == 1 && request.version.minor == 0 {
            headers.replaceOrAdd(name: "Connection", value: "keep-alive")
        }
        let version = request.version.major == 1 && request.version.minor == 0 ? HTTPVersion.http1_0 : .http1_1
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: reply.status, headers: headers))), promise: nil)
        // HEAD: the headers GET would get (Content-Length included), and no body.
        if request.method != .HEAD && !reply.body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: reply.body)))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { result in
            self.phase = .reading
            if case .failure = result {
                context.close(promise: nil)
            } else if closeAfter && (!keepAlive || self.closeWhenAnswered) {
                context.close(promise: nil)
            }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is Quiesce {
            closeWhenAnswered = true
            // Between requests, or part-way through reading one: nothing is owed.
            if phase == .reading { context.close(promise: nil) }
            return
        }
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            // Quiet while the responder works is expected (an audit takes seconds);
            // quiet while reading a request, or while the client does not take its answer, is not.
            if phase != .answering { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A reset, a TLS failure or a malformed request (already answered with 400): the connection is done.
        context.close(promise: nil)
    }
}
