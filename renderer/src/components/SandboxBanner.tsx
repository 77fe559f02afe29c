import { useUi } from '../store.ts';

export function SandboxBanner() {
  const sandbox = useUi((s) => s.health?.sandbox === true);
  if (!sandbox) return null;
  return (
    <div className="sandbox-banner" role="note">
      Песочница — внешние сервисы поддельные
    </div>
  );
}
