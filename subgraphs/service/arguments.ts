import type { ServiceItem } from '../../lib/catalog';
import { badUserInput, forbidden } from '../../lib/error-codes';
import type { ServiceContext } from './index';
import { arrived } from '../../lib/arrived';

/**
 * The service item and case a request serves. The gateway has checked the headers against
 * the caller's token; the item the operation names must be that same item, so nobody asks
 * for one purpose's checklist under another's.
 */
export function requirePurpose(context: ServiceContext, serviceItem: string): { item: ServiceItem; caseNumber: string } {
  const header = context.forwarded['x-service-item'];
  const caseNumber = context.forwarded['x-case-number'];
  if (!header) throw forbidden('X-Service-Item header is required: the code of the service item (事项) this request serves');
  if (!caseNumber) throw forbidden('X-Case-Number header is required: the case (application) number this request serves');
  if (serviceItem !== header) throw forbidden(`serviceItem must be the service item this request serves (X-Service-Item ${header}), got ${arrived(serviceItem)}`);
  const item = context.catalog.items.get(serviceItem);
  if (!item) throw badUserInput(`serviceItem must be a service item in the proof catalog, got ${arrived(serviceItem)}`);
  return { item, caseNumber };
}
