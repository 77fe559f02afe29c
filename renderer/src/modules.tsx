import type { ComponentType } from 'react';
import { CardsPage } from './pages/CardsPage.tsx';
import { DocpartPage } from './pages/DocpartPage.tsx';
import { InvoicesPage } from './pages/InvoicesPage.tsx';
import { RegateTenants } from './pages/RegateTenants.tsx';
import type { SettingsView } from './types.ts';

/**
 * The window's own code for a module, where a module has some: the service's meta (GET /api/meta)
 * says which modules there are, their menu titles and their settings; a module whose page or
 * settings need more than the generic form maps its name here. A connector without a page of its
 * own needs no line here: its settings section is drawn from the meta.
 */
export const MODULE_PAGES: ReadonlyMap<string, ComponentType<{ selected: string | null }>> = new Map<string, ComponentType<{ selected: string | null }>>([
  ['cards', CardsPage],
  ['invoices', InvoicesPage],
  ['docpart', DocpartPage],
]);

export interface SettingsExtraProps {
  view: SettingsView;
  onSaved: (view: SettingsView) => void;
  onDirty: (dirty: boolean) => void;
}

/** Settings a generic form cannot edit (ReGate's list of bases), by module; `short` names it in the «unsaved» question. */
export const MODULE_SETTINGS: ReadonlyMap<string, { part: string; short: string; component: ComponentType<SettingsExtraProps> }> = new Map([
  ['regate', { part: 'regate.tenants', short: 'базы ReGate', component: RegateTenants }],
]);
