#!/usr/bin/env node
import { enableCompileCache } from 'node:module';
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { homedir } from 'node:os';
import { loadConfig } from './config/load.ts';
import { CONNECTORS, isLoopback, SECRETS, sliceOf, type Config } from './config/schema.ts';
import { MODULES } from './connectors/index.ts';
import { defaultDataDir } from './config/paths.ts';
import { SputnikError } from './errors.ts';
import { errorCode, errorMessage } from './unknown.ts';
import { VERSION } from './version.ts';
import { SANDBOX_REGATE_PASSWORD, SANDBOX_REGATE_USER } from './sandbox/credentials.ts';
import { describeClients } from './listener/clients.ts';
import type { Standalone1C } from './sandbox/onec/standalone.ts';

// Node keeps compiled modules (TypeScript stripping included) in its on-disk compile cache (in the
// temp dir): from the second start on, fastify, zod, undici and our sources load about twice as fast.
enableCompileCache();

/** Exit codes: 0 ok; 1 a connector check failed / runtime failure; 2 bad usage or config; 3 port taken; 4 store unavailable. */
export const EXIT = { ok: 0, failed: 1, usage: 2, port: 3, store: 4 } as const;

const HELP = `Спутник ${VERSION} — посредник между 1С и ${MODULES.flatMap((m) => ('connector' in m && m.connector ? [m.title] : [])).join(', ')}

Использование:
  sputnik serve --config ФАЙЛ [--data-dir ПАПКА]   запустить службу (API для 1С и окно в браузере)
  sputnik serve --sandbox [--data-dir ПАПКА]        то же с поддельными сервисами (песочница)
  sputnik check --config ФАЙЛ                       проверить настройки и связь с каждым сервисом
  sputnik sandbox 1c --port N [--pool 10] [--latency-ms 30] [--user U --password P]
                                                    отдельная поддельная 1С (HTTP-сервис ReGate) для проб и тестов
  sputnik --help | --version

Параметры serve:
  --port N         порт API для 1С (вместо listener.port)
  --ui-port N      порт окна Спутника (вместо ui.port)
  --regate-port N  порт ReGate, HTTPS для Richest.store (вместо regate.port)

Параметры sandbox 1c (HTTP на 127.0.0.1; данные только в памяти, счётчики — GET /_sandbox/stats):
  --port N             порт (0 — любой свободный)
  --pool N             сеансов в пуле публикации (10); сверх него вызов ждёт сеанс
  --pool-timeout-ms N  сколько ждать сеанс, потом отказ, как у 1С (5000)
  --latency-ms N       время каждого вызова, мс (30)
  --user, --password   технический пользователь 1С (regate / regate)
  --no-register        без регистра X-ReGate-Request-Id: повтор записи выполняется заново

${wrap(`Секреты можно не хранить в файле: ${SECRETS.map((s) => s.env).join(', ')}.`, 90)}
Коды выхода: 0 — хорошо; 1 — проверка не прошла; 2 — ошибка в настройках или параметрах;
3 — порт занят; 4 — хранилище недоступно.`;

/** Words on lines of at most `width` characters (the help's paragraphs). */
function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) (lines.push(line), (line = word));
    else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line].join('\n');
}

function fail(message: string, code: number): never {
  process.stderr.write(`sputnik: ${message}\n`);
  process.exit(code);
}

function exitCodeOf(e: SputnikError): number {
  if (e.code === 'port_taken' || e.code === 'bind_failed') return EXIT.port;
  if (e.code === 'store_unavailable') return EXIT.store;
  if (e.code === 'invalid_config') return EXIT.usage;
  return EXIT.failed;
}

/** parseArgs' English, several-line errors → one Russian line naming the option. */
function usageProblem(e: unknown): string {
  const message = errorMessage(e);
  const code = errorCode(e);
  const option = /'(-[^' ]+)/.exec(message)?.[1] ?? '';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `неизвестный параметр ${option}`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    if (/does not take/.test(message)) return `${option} пишется без значения`;
    if (/ambiguous/.test(message)) return `${option}: значение не может начинаться с «-»`;
    return `${option}: не указано значение`;
  }
  return message.split('\n')[0];
}

export async function main(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        'data-dir': { type: 'string', short: 'd' },
        sandbox: { type: 'boolean' },
        port: { type: 'string' },
        'ui-port': { type: 'string' },
        'regate-port': { type: 'string' },
        pool: { type: 'string' },
        'pool-timeout-ms': { type: 'string' },
        'latency-ms': { type: 'string' },
        user: { type: 'string' },
        password: { type: 'string' },
        'no-register': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (e) {
    fail(`${usageProblem(e)}. Справка: sputnik --help`, EXIT.usage);
  }
  const { values, positionals } = parsed;
  if (values.version) return void process.stdout.write(`${VERSION}\n`);
  const command = positionals[0];
  if (values.help || !command) return void process.stdout.write(`${HELP}\n`);
  if (command !== 'serve' && command !== 'check' && command !== 'sandbox') fail(`неизвестная команда «${command}». Справка: sputnik --help`, EXIT.usage);
  const own = command === 'sandbox' ? SANDBOX_OPTIONS : SERVE_OPTIONS;
  const stray = Object.keys(values).find((o) => (SANDBOX_OPTIONS.includes(o) || SERVE_OPTIONS.includes(o)) && !own.includes(o));
  if (stray) fail(`параметр --${stray} не для sputnik ${command === 'sandbox' ? 'sandbox 1c' : command}. Справка: sputnik --help`, EXIT.usage);
  if (command === 'sandbox') return sandbox1C(positionals.slice(1), values);

  try {
    if (command === 'check') {
      if (!values.config) fail('укажите файл настроек: sputnik check --config ФАЙЛ', EXIT.usage);
      const { config } = loadConfig(resolve(values.config));
      process.exitCode = (await runCheck(config)) ? EXIT.ok : EXIT.failed;
      return;
    }
    await serve(values);
  } catch (e) {
    if (e instanceof SputnikError) fail(e.message, exitCodeOf(e));
    throw e;
  }
}

async function runCheck(config: Config): Promise<boolean> {
  process.stdout.write('настройки: в порядке\n');
  process.stdout.write(`${describeClients(config.listener.host, config.listener.allowedClients, isLoopback(config.listener.host))}\n`);
  const { checkConnectors } = await import('./core/check.ts');
  const results = await checkConnectors(config);
  for (const r of results) process.stdout.write(`${r.connector}: ${r.ok === null ? 'выключен' : r.ok ? 'ok' : 'ошибка'}${r.message ? ` — ${r.message}` : ''}\n`);
  let ok = results.every((r) => r.ok !== false);
  if (config.regate.enabled) {
    const { checkRegate } = await import('./regate/check.ts');
    for (const r of await checkRegate(config.regate)) {
      process.stdout.write(`regate, ${r.what}: ${r.ok ? 'ok' : 'ошибка'} — ${r.message}\n`);
      ok &&= r.ok;
    }
  }
  return ok;
}

function portOption(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) fail(`--${name}: нужен номер порта 0–65535, получено «${text}»`, EXIT.usage);
  return n;
}

/** Options only one command takes (the rest are shared or harmless). */
const SERVE_OPTIONS = ['config', 'data-dir', 'sandbox', 'ui-port', 'regate-port'];
const SANDBOX_OPTIONS = ['pool', 'pool-timeout-ms', 'latency-ms', 'user', 'password', 'no-register'];

function countOption(text: string | undefined, name: string, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < min || n > max) fail(`--${name}: нужно целое число ${min}–${max}, получено «${text}»`, EXIT.usage);
  return n;
}

/** `sputnik sandbox 1c`: the fake 1C alone (no store, no data dir) until SIGINT/SIGTERM. */
async function sandbox1C(
  what: string[],
  values: { port?: string; pool?: string; 'pool-timeout-ms'?: string; 'latency-ms'?: string; user?: string; password?: string; 'no-register'?: boolean },
): Promise<void> {
  // «1с» typed with a Cyrillic «с» is the same thing.
  if (what.length !== 1 || !['1c', '1с'].includes(what[0].toLowerCase())) fail('укажите, что подделать: sputnik sandbox 1c --port N', EXIT.usage);
  const port = portOption(values.port, 'port');
  if (port === undefined) fail('укажите порт: sputnik sandbox 1c --port N (0 — любой свободный)', EXIT.usage);
  const pool = countOption(values.pool, 'pool', 1, 10_000);
  const poolTimeoutMs = countOption(values['pool-timeout-ms'], 'pool-timeout-ms', 0, 3_600_000);
  const latencyMs = countOption(values['latency-ms'], 'latency-ms', 0, 3_600_000);
  if ((values.user === undefined) !== (values.password === undefined)) fail('--user и --password указываются вместе', EXIT.usage);
  if (values.user !== undefined && (values.user === '' || values.user.includes(':'))) fail('--user: нужно имя без двоеточия', EXIT.usage);

  const out = (s: string) => process.stdout.write(`${s}\n`);
  let onec: Standalone1C | undefined;
  let stopping = false;
  // Set before the start: a signal while the company is being generated also ends with 0.
  const shutdown = async (signal: string) => {
    if (stopping) process.exit(EXIT.failed);
    stopping = true;
    out(`Получен ${signal}: останавливаюсь…`);
    await onec?.stop();
    out('Поддельная 1С остановлена.');
    process.exit(EXIT.ok);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  // Loaded here: the fake and its seeded company cost nothing to the other commands.
  const { startStandalone1C, STANDALONE_USER, STANDALONE_PASSWORD } = await import('./sandbox/onec/standalone.ts');
  try {
    onec = await startStandalone1C({ port, pool, poolTimeoutMs, latencyMs, user: values.user, password: values.password, register: !values['no-register'] });
  } catch (e) {
    const code = errorCode(e);
    if (code === 'EADDRINUSE') fail(`порт ${port} занят: укажите другой в --port (0 — любой свободный)`, EXIT.port);
    if (code === 'EACCES') fail(`порт ${port} недоступен: укажите другой в --port (0 — любой свободный)`, EXIT.port);
    throw e;
  }
  const login = values.user === undefined ? `${STANDALONE_USER} / ${STANDALONE_PASSWORD}` : `${values.user} / пароль из --password`;
  out(`Спутник ${VERSION} — поддельная 1С (ПЕСОЧНИЦА: HTTP-сервис ReGate, данные только в памяти)`);
  out(`1С (ReGate): ${onec.baseUrl}  (вход ${login}; сеансов ${pool ?? 10}, вызов ${latencyMs ?? 30} мс${values['no-register'] ? ', без регистра X-ReGate-Request-Id' : ''})`);
  out(`Счётчики: ${onec.statsUrl}`);
}

async function serve(values: { config?: string; 'data-dir'?: string; sandbox?: boolean; port?: string; 'ui-port'?: string; 'regate-port'?: string }): Promise<void> {
  const sandboxMode = Boolean(values.sandbox);
  if (!values.config && !sandboxMode) fail('укажите файл настроек (--config ФАЙЛ) или запустите песочницу (--sandbox)', EXIT.usage);
  const dataDir = resolve(values['data-dir'] ?? defaultDataDir(process.env, process.platform, homedir()));
  const port = portOption(values.port, 'port');
  const uiPort = portOption(values['ui-port'], 'ui-port');
  const regatePort = portOption(values['regate-port'], 'regate-port');

  // Loaded here so --help, --version and check stay quick.
  const { startRun } = await import('./core/run.ts');
  let tokenWasSet = false;
  const run = await startRun({
    configFile: values.config ? resolve(values.config) : undefined,
    sandbox: sandboxMode,
    dataDir,
    adjust: (config) => {
      if (port !== undefined) config.listener.port = port;
      if (uiPort !== undefined) config.ui.port = uiPort;
      if (regatePort !== undefined) config.regate.port = regatePort;
      tokenWasSet = Boolean(config.listener.token);
    },
  });
  const { core, running, config, sandbox } = run;
  const firstRun = !core.store.meta.get('started_once');
  core.store.meta.set('started_once', '1');

  const out = (s: string) => process.stdout.write(`${s}\n`);
  out(`Спутник ${VERSION} — режим службы${sandboxMode ? ' (ПЕСОЧНИЦА: внешние сервисы поддельные)' : ''}; данные: ${dataDir}`);
  out(`API для 1С: ${running.listenerUrl}  (документация: ${running.listenerUrl}/docs)`);
  if (!isLoopback(config.listener.host)) out(describeClients(config.listener.host, config.listener.allowedClients, false));
  if (sandboxMode || (!tokenWasSet && firstRun)) out(`Токен для 1С (Authorization: Bearer …): ${running.listenerToken}`);
  else if (!tokenWasSet) out('Токен для 1С создан при первом запуске; задайте свой в listener.token или SPUTNIK_LISTENER_TOKEN');
  out(`Окно Спутника: ${running.uiLoginUrl}`);
  if (sandbox) out(`Песочница: поддельные сервисы — ${sandbox.services.join(', ') || 'нет'}`);
  for (const c of CONNECTORS) if (sliceOf(config, c).enabled) out(`${c}: включён (${sliceOf(config, c).baseUrl ?? ''})`);
  if (config.regate.enabled) {
    // The bound address (port 0 = any free one), as the gateway reports it.
    const url = core.health(true).regate?.url ?? `https://127.0.0.1:${config.regate.port}`;
    out(`ReGate (HTTPS для Richest.store): ${url}/regate/v1 (документация: /regate/docs)${sandbox ? `; вход ${SANDBOX_REGATE_USER} / ${SANDBOX_REGATE_PASSWORD}, сертификат самоподписанный` : ''}`);
    if (sandbox && !isLoopback(config.regate.host)) out(`Внимание: ReGate песочницы открыт в сеть (regate.host ${config.regate.host}), а её вход известен всем`);
  }

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      process.stderr.write('sputnik: повторный сигнал — выхожу немедленно\n');
      process.exit(EXIT.failed);
    }
    stopping = true;
    out(`Получен ${signal}: останавливаюсь (до 10 с на завершение текущих заданий)…`);
    await run.stop(10_000);
    out('Спутник остановлен.');
    process.exit(EXIT.ok);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

if (import.meta.main) {
  main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`sputnik: внутренняя ошибка: ${(e instanceof Error ? e.stack : undefined) ?? e}\n`);
    process.exit(EXIT.failed);
  });
}

