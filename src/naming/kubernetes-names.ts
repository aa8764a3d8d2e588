// Kubernetes' own syntax rules for names and label values (apimachinery validation). The patterns are strings
// because the policy schema (src/policy/schema.ts) puts the same ones into the CRD.

export const dnsLabelPattern = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
export const dnsSubdomainPattern = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
export const labelValuePattern = '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$';
export const quantityPattern = '^([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][-+]?[0-9]+)?$';

const dns1123Subdomain = new RegExp(dnsSubdomainPattern);
const labelValue = new RegExp(labelValuePattern);
const quantity = new RegExp(quantityPattern);

export function dns1123SubdomainError(value: string): string | undefined {
  if (value.length > 253) return 'must be no more than 253 characters';
  if (!dns1123Subdomain.test(value)) {
    return "must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
  }
  return undefined;
}

export function labelValueError(value: string): string | undefined {
  if (value.length > 63) return 'must be no more than 63 characters';
  if (!labelValue.test(value)) {
    return "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
  }
  return undefined;
}

export function isQuantity(value: string): boolean {
  return quantity.test(value);
}

/** For a valid quantity: whether it is above zero (some non-zero digit in the mantissa). */
export function isPositiveQuantity(value: string): boolean {
  return /[1-9]/.test(value.replace(/[eE][-+]?[0-9]+$/, ''));
}
