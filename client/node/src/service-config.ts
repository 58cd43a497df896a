// The service config every client of tutoring.v1 loads (the project's
// client/service_config.json, copied into dist/ by `npm run build`), and
// what of it applies to a connect-node transport: each method's default
// timeout and its retry policy. The transport speaks HTTP/2 to one address,
// so the file's loadBalancingConfig and healthCheckConfig (gRPC channel
// features) have no counterpart here.
import { readFileSync } from "node:fs";
import { Code } from "@connectrpc/connect";

export interface RetryPolicy {
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  backoffMultiplier: number;
  retryableCodes: Code[];
}

export interface MethodPolicy {
  timeoutMs?: number;
  retry?: RetryPolicy;
}

interface JsonMethodConfig {
  name: { service: string; method?: string }[];
  timeout?: string;
  retryPolicy?: {
    maxAttempts: number;
    initialBackoff: string;
    maxBackoff: string;
    backoffMultiplier: number;
    retryableStatusCodes: string[];
  };
}

// gRPC's code names; connect's Code enum has gRPC's numbers.
const CODE_NAMES = [
  "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
  "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
  "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
];

function durationMs(text: string): number {
  if (!/^\d+(\.\d+)?s$/.test(text)) {
    throw new Error(`service config: bad duration ${JSON.stringify(text)}`);
  }
  return Number.parseFloat(text) * 1000;
}

function codeOf(name: string): Code {
  const n = CODE_NAMES.indexOf(name);
  if (n <= 0) throw new Error(`service config: bad status code ${name}`);
  return n as Code;
}

export class ServiceConfig {
  // "service/method" or "service/" -> policy.
  private readonly policies = new Map<string, MethodPolicy>();

  constructor(readonly json: { methodConfig?: JsonMethodConfig[] }) {
    for (const entry of json.methodConfig ?? []) {
      const policy: MethodPolicy = {};
      if (entry.timeout !== undefined) policy.timeoutMs = durationMs(entry.timeout);
      const r = entry.retryPolicy;
      if (r !== undefined) {
        policy.retry = {
          maxAttempts: Math.min(r.maxAttempts, 5),  // gRPC's limit
          initialBackoffMs: durationMs(r.initialBackoff),
          maxBackoffMs: durationMs(r.maxBackoff),
          backoffMultiplier: r.backoffMultiplier,
          retryableCodes: r.retryableStatusCodes.map(codeOf),
        };
      }
      for (const name of entry.name) {
        this.policies.set(`${name.service}/${name.method ?? ""}`, policy);
      }
    }
  }

  // The policy of service/method, else of the service, else none.
  lookup(service: string, method: string): MethodPolicy {
    return this.policies.get(`${service}/${method}`) ??
      this.policies.get(`${service}/`) ?? {};
  }

  static load(): ServiceConfig {
    const text = readFileSync(new URL("./service_config.json", import.meta.url), "utf8");
    return new ServiceConfig(JSON.parse(text));
  }
}
