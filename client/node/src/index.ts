// @tutoring/client: the typed Node.js client of tutoring.v1.TutoringService
// over gRPC (HTTP/2, @connectrpc/connect-node's createGrpcTransport).
//
//   import { createTutoringClient } from "@tutoring/client";
//   const client = createTutoringClient({ baseUrl: "http://127.0.0.1:50051" });
//   const streak = await client.getStreak({ userId: 42n, timeZone: "UTC" });
//
// Methods are the service's RPCs in camelCase, typed by the generated code
// (int64 fields are bigint). Errors are ConnectError with a gRPC `code`.
// Calls without a timeoutMs of their own get defaultTimeoutMs, else the
// method's timeout in the shared service config (client/service_config.json),
// and calls ending in a code its retry policy names (UNAVAILABLE) are
// retried with its randomized exponential backoff, all within the call's
// deadline.
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import type { Client, Interceptor, Transport } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { TutoringService } from "./gen/tutoring/v1/tutoring_pb.js";
import { ServiceConfig } from "./service-config.js";

export * from "./gen/tutoring/v1/tutoring_pb.js";
export { Code, ConnectError } from "@connectrpc/connect";
export { ServiceConfig } from "./service-config.js";
export type { MethodPolicy, RetryPolicy } from "./service-config.js";

// The typed client, plus close(): ends its HTTP/2 connection (calls in
// flight fail) so that a process can exit.
export type TutoringClient = Client<typeof TutoringService> & { close(): void };

export interface TutoringClientOptions {
  // "http://host:port" (plaintext HTTP/2) or "https://host:port" (TLS).
  baseUrl: string;
  // TLS with https: PEM of the CAs to trust (default: Node's), and for
  // mutual TLS the client's certificate chain and key.
  tls?: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer };
  // Sent as "authorization: Bearer <token>" on every call.
  token?: string;
  // Timeout of calls made without timeoutMs; default: the service config's.
  defaultTimeoutMs?: number;
  // More interceptors, run after the token's.
  interceptors?: Interceptor[];
  // Replaces the shipped service config (tests, experiments).
  serviceConfig?: ServiceConfig;
}

// Adds the bearer token to every request.
export function bearerToken(token: string): Interceptor {
  if (token === "" || /[\r\n]/.test(token)) {
    throw new Error("token must be a non-empty single line");
  }
  return (next) => async (req) => {
    req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener("abort", aborted);
      resolve();
    }
    function aborted() {
      clearTimeout(timer);
      reject(ConnectError.from(signal?.reason ?? "aborted", Code.Canceled));
    }
    signal?.addEventListener("abort", aborted, { once: true });
  });
}

// `inner` with the service config's timeouts and retries (gRFC A6 backoff:
// attempt n+1 after a random delay in [0, b_n), b_1 = initialBackoff,
// b_{n+1} = min(b_n * multiplier, maxBackoff)). A call's deadline covers all
// of its attempts.
export function withServiceConfig(inner: Transport, config: ServiceConfig,
                                  defaultTimeoutMs?: number): Transport {
  return {
    async unary(method, signal, timeoutMs, header, input, contextValues) {
      const policy = config.lookup(method.parent.typeName, method.name);
      const timeout = timeoutMs ?? defaultTimeoutMs ?? policy.timeoutMs;
      const deadline = timeout === undefined ? undefined : Date.now() + timeout;
      const retry = policy.retry;
      let backoff = retry?.initialBackoffMs ?? 0;
      for (let attempt = 1; ; attempt++) {
        const remaining = deadline === undefined ? undefined : deadline - Date.now();
        if (remaining !== undefined && remaining <= 0) {
          throw new ConnectError("the call's deadline passed between attempts",
                                 Code.DeadlineExceeded);
        }
        try {
          return await inner.unary(method, signal, remaining, header, input, contextValues);
        } catch (e) {
          const error = ConnectError.from(e);
          if (retry === undefined || attempt >= retry.maxAttempts ||
              !retry.retryableCodes.includes(error.code) || signal?.aborted) {
            throw error;
          }
          const delay = Math.random() * backoff;
          backoff = Math.min(backoff * retry.backoffMultiplier, retry.maxBackoffMs);
          if (deadline !== undefined && Date.now() + delay >= deadline) throw error;
          await sleep(delay, signal);
        }
      }
    },
    stream(method, signal, timeoutMs, header, input, contextValues) {
      // tutoring.v1 has no streaming RPCs; passed through as they are.
      return inner.stream(method, signal, timeoutMs, header, input, contextValues);
    },
  };
}

// The typed client of TutoringService; see the top of this file.
export function createTutoringClient(options: TutoringClientOptions): TutoringClient {
  if (options.defaultTimeoutMs !== undefined && !(options.defaultTimeoutMs > 0)) {
    throw new Error(`defaultTimeoutMs must be > 0, got ${options.defaultTimeoutMs}`);
  }
  const interceptors: Interceptor[] = [];
  if (options.token !== undefined) interceptors.push(bearerToken(options.token));
  interceptors.push(...(options.interceptors ?? []));
  const sessionManager = new Http2SessionManager(
    options.baseUrl, undefined, options.tls === undefined ? undefined : { ...options.tls });
  const transport = createGrpcTransport({ baseUrl: options.baseUrl, interceptors, sessionManager });
  const client = createClient(
    TutoringService,
    withServiceConfig(transport, options.serviceConfig ?? ServiceConfig.load(), options.defaultTimeoutMs));
  return Object.assign(client, { close: () => sessionManager.abort() });
}
