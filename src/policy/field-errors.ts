// Field errors in the shape kubectl users know: `spec.shared.claimName: Required value: ...`.

export interface FieldError {
  field: string;
  message: string;
}

export class FieldErrorList {
  readonly errors: FieldError[] = [];

  add(field: string, message: string): void {
    this.errors.push({ field, message });
  }

  invalid(field: string, value: unknown, reason: string): void {
    this.add(field, `Invalid value: ${JSON.stringify(value)}: ${reason}`);
  }

  required(field: string, reason: string): void {
    this.add(field, `Required value: ${reason}`);
  }

  unsupported(field: string, value: unknown, supported: readonly string[]): void {
    this.add(field, `Unsupported value: ${JSON.stringify(value)}: supported values: ${supported.map((s) => `"${s}"`).join(', ')}`);
  }
}

export function formatFieldErrors(errors: FieldError[]): string {
  return errors.map((error) => `${error.field}: ${error.message}`).join('\n');
}
