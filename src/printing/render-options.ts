import type { Config } from '../config/schema.js';
import type { RenderSlipOptions, SlipEncoding } from './templates/index.js';

/** renderSlip's options from the `printing` config section (empty strings mean: derived, the system's, built-in, none). */
export function renderOptions(config: Config, paperWidthMm: 58 | 80, log?: RenderSlipOptions['log']): RenderSlipOptions {
  const p = config.printing;
  const customTemplates: Partial<Record<string, string>> = {};
  for (const [name, source] of Object.entries(p.templates)) if (typeof source === 'string' && source !== '') customTemplates[name] = source;
  return {
    paperWidthMm,
    encoding: p.encoding as SlipEncoding,
    ...(p.locale ? { locale: p.locale as RenderSlipOptions['locale'] } : {}),
    ...(p.timeZone ? { timeZone: p.timeZone } : {}),
    ...(p.mapUrlBase ? { mapUrlBase: p.mapUrlBase } : {}),
    ...(Object.keys(customTemplates).length > 0 ? { customTemplates } : {}),
    ...(p.logo ? { logo: p.logo } : {}),
    ...(log ? { log } : {}),
  };
}
