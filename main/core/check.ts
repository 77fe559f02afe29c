import type { Config, ConnectorName } from '../config/schema.ts';
import { CONNECTORS, sliceOf } from '../config/schema.ts';
import { REGISTRY } from './registry.ts';
import { createDispatcher, HttpClient } from '../http/client.ts';
import { DeliveryError } from '../errors.ts';
import type { ConnectorCheck } from './module.ts';

export type { ConnectorCheck } from './module.ts';

export interface CheckResult {
  connector: ConnectorName;
  /** null: disabled. */
  ok: boolean | null;
  message: string;
}


/** The connector's own check, from its code (its descriptor's `load`); undefined when it has none. */
async function checkOf(connector: ConnectorName): Promise<ConnectorCheck | undefined> {
  const descriptor = REGISTRY.find((m) => m.name === connector);
  return descriptor ? (await descriptor.load()).check : undefined;
}

/** A check that is one remote call: ok with `okMessage`, or the call's own (Russian) error. */
export async function checkByCall(call: () => Promise<unknown>, okMessage: string): Promise<{ ok: boolean; message: string }> {
  try {
    await call();
    return { ok: true, message: okMessage };
  } catch (e) {
    return { ok: false, message: e instanceof Error ? e.message : String(e) };
  }
}

/** Reachability: the server answers HTTP at all (any status). */
async function reachable(config: Config, http: HttpClient, connector: ConnectorName): Promise<{ ok: boolean; message: string }> {
  const baseUrl = String(sliceOf(config, connector).baseUrl);
  try {
    const res = await http.send({ system: connector, method: 'GET', url: baseUrl, timeoutMs: 10_000 });
    return { ok: true, message: `сервер ${new URL(baseUrl).host} отвечает (HTTP ${res.status}); учётные данные проверяются при первом обмене` };
  } catch (e) {
    return { ok: false, message: e instanceof DeliveryError ? e.message : String(e) };
  }
}

/** One connector's check: its own protocol-level one, else reachability. */
export async function checkOne(config: Config, http: HttpClient, connector: ConnectorName): Promise<{ ok: boolean; message: string }> {
  const check = await checkOf(connector);
  return check ? check(config, http) : reachable(config, http, connector);
}

/** Tries each enabled connector once. */
export async function checkConnectors(config: Config): Promise<CheckResult[]> {
  const http = new HttpClient(createDispatcher(config.http));
  try {
    return await Promise.all(
      CONNECTORS.map(async (connector): Promise<CheckResult> => {
        if (sliceOf(config, connector).enabled !== true) return { connector, ok: null, message: '' };
        return { connector, ...(await checkOne(config, http, connector)) };
      }),
    );
  } finally {
    await http.close();
  }
}
