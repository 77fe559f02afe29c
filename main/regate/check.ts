import { X509Certificate, createPrivateKey } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { readFileSync } from 'node:fs';
import type { Config } from '../config/schema.ts';

const DAY = 86_400_000;

/**
 * `sputnik check` for ReGate: the certificate and key load and belong together (PEM or PFX), the
 * certificate is valid now and for at least two more weeks (a warning before that), and each
 * tenant's 1C service answers its technical user.
 */
export async function checkRegate(config: Pick<Config['regate'], 'tls' | 'tenants'> & Partial<Pick<Config['regate'], 'store'>>, now = Date.now()): Promise<Array<{ what: string; ok: boolean; message: string }>> {
  const out: Array<{ what: string; ok: boolean; message: string }> = [];
  try {
    let certPem: string;
    if (config.tls.pfxFile) {
      createSecureContext({ pfx: readFileSync(config.tls.pfxFile), passphrase: config.tls.pfxPassword });
      out.push({ what: 'сертификат', ok: true, message: `PFX ${config.tls.pfxFile} открывается с этим паролем` });
    } else {
      certPem = readFileSync(config.tls.certFile!, 'utf8');
      const cert = new X509Certificate(certPem);
      const key = createPrivateKey(readFileSync(config.tls.keyFile!, 'utf8'));
      if (!cert.checkPrivateKey(key)) throw new Error(`ключ ${config.tls.keyFile} не от сертификата ${config.tls.certFile}`);
      const from = Date.parse(cert.validFrom);
      const to = Date.parse(cert.validTo);
      const left = Math.floor((to - now) / DAY);
      if (now < from) throw new Error(`сертификат ещё не действует (с ${cert.validFrom})`);
      if (now > to) throw new Error(`срок сертификата истёк ${cert.validTo}`);
      out.push({ what: 'сертификат', ok: true, message: `${cert.subject.replace(/\n/g, ', ')}; действует до ${cert.validTo}${left < 14 ? ` — осталось ${left} дн., замените заранее` : ''}` });
    }
  } catch (e) {
    out.push({ what: 'сертификат', ok: false, message: e instanceof Error ? e.message : String(e) });
  }
  for (const t of config.tenants) {
    try {
      const res = await fetch(`${t.baseUrl.replace(/\/+$/, '')}/state`, {
        headers: { authorization: `Basic ${Buffer.from(`${t.onecUser}:${t.onecPassword}`).toString('base64')}` },
        signal: AbortSignal.timeout(15_000),
      });
      const ok = res.status === 200;
      out.push({ what: `база ${t.id}`, ok, message: ok ? '1С отвечает техническому пользователю' : `1С ответила HTTP ${res.status}${res.status === 401 ? ': логин или пароль технического пользователя неверны' : res.status === 404 ? ': HTTP-сервис ReGate не опубликован (см. onec/regate/INSTALL.md)' : ''}` });
    } catch (e) {
      out.push({ what: `база ${t.id}`, ok: false, message: `1С недоступна: ${e instanceof Error ? e.message : String(e)}` });
    }
  }
  if (config.store?.kind === 'postgres') out.push(await checkPostgres(config.store));
  return out;
}

/** The shared store answers with this login, and its schema is one this build knows (or none yet: the first start makes it). */
async function checkPostgres(store: Config['regate']['store']): Promise<{ what: string; ok: boolean; message: string }> {
  const what = 'хранилище PostgreSQL';
  const { PgStore } = await import('./postgres/connection.ts');
  const { MIGRATIONS } = await import('./postgres/migrations.ts');
  const pg = new PgStore({ url: store.url ?? '', password: store.password, max: 1 });
  // The store's probe and wait timers never keep a process alive (unref): this check must.
  const alive = setInterval(() => {}, 1000);
  try {
    // One try (a refused connection or a wrong password is told at once; an unreachable host after the 5 s connect timeout).
    const { rows } = await pg.query<{ v: number | null }>(`SELECT CASE WHEN to_regclass('regate_migrations') IS NULL THEN NULL ELSE (SELECT max(version) FROM regate_migrations) END AS v`);
    const known = Math.max(...MIGRATIONS.map((m) => m.version));
    const v = rows[0]?.v ?? null;
    if (v !== null && v > known) return { what, ok: false, message: `схема ${v} от более новой версии ReGate (эта знает до ${known}): обновите Спутник на всех серверах` };
    return { what, ok: true, message: v === null ? 'отвечает; таблиц ReGate ещё нет — их создаст первый запуск' : `отвечает; схема ${v}${v < known ? ` (первый запуск обновит до ${known})` : ''}` };
  } catch (e) {
    // PgStore's errors carry the reason, never the password.
    return { what, ok: false, message: e instanceof Error ? e.message : String(e) };
  } finally {
    clearInterval(alive);
    await pg.close();
  }
}
