// The checkout form's rules: the same ones the relay applies (`shipping.*` fields), checked
// before sending so the buyer sees the message at once; the relay's answer still wins.
import type { Shipping } from '../bindings/Shipping';

export type ShippingField = keyof Shipping;
/** Field → i18n key of its message. */
export type ShippingErrors = Partial<Record<ShippingField, string>>;

const PHONE = /^(\+86)?1[3-9]\d{9}$/;

export function validateShipping(shipping: Shipping): ShippingErrors {
  const errors: ShippingErrors = {};
  const name = shipping.name.trim();
  if (!name) errors.name = 'viewer.checkout.errors.nameRequired';
  else if ([...name].length > 20) errors.name = 'viewer.checkout.errors.nameTooLong';
  if (!PHONE.test(shipping.phone.trim())) errors.phone = 'viewer.checkout.errors.phone';
  const address = shipping.address.trim();
  if ([...address].length < 5) errors.address = 'viewer.checkout.errors.addressShort';
  else if ([...address].length > 200) errors.address = 'viewer.checkout.errors.addressTooLong';
  return errors;
}

/** `shipping.phone` (the relay's field name) → `phone`; other fields are not the form's. */
export function shippingField(field: string | undefined): ShippingField | undefined {
  const name = field?.startsWith('shipping.') ? field.slice('shipping.'.length) : undefined;
  return name === 'name' || name === 'phone' || name === 'address' ? name : undefined;
}
