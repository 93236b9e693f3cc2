// The console's sale forms (秒杀, coupon, 福袋): what the assistant types, checked before it
// goes to the relay (which checks again and has the last word). Money is typed in yuan and
// sent in integer fen.

/** "39.9" → 3990; null for anything that is not a non-negative amount with at most 2 decimals. */
export function parseYuan(text: string): number | null {
  const trimmed = text.trim();
  if (!/^\d{1,7}(\.\d{1,2})?$/.test(trimmed)) return null;
  const [whole, cents = ''] = trimmed.split('.');
  return Number(whole) * 100 + Number(cents.padEnd(2, '0'));
}

function parseWhole(text: string): number | null {
  const trimmed = text.trim();
  return /^\d{1,7}$/.test(trimmed) ? Number(trimmed) : null;
}

/** Field name → i18n key of its message (under studio.sales.errors). */
export type FieldErrors = Record<string, string>;

export type Checked<T> = { ok: true; value: T } | { ok: false; errors: FieldErrors };

function result<T>(errors: FieldErrors, value: () => T): Checked<T> {
  return Object.keys(errors).length ? { ok: false, errors } : { ok: true, value: value() };
}

export interface FlashSaleForm {
  skuId: number | null;
  price: string;
  quantity: string;
  perUser: string;
  minutes: string;
}

export interface SkuFacts {
  priceFen: number;
  stock: number;
}

export function checkFlashSale(form: FlashSaleForm, sku: SkuFacts | undefined) {
  const errors: FieldErrors = {};
  const price = parseYuan(form.price);
  const quantity = parseWhole(form.quantity);
  const perUser = form.perUser.trim() === '' ? 1 : parseWhole(form.perUser);
  const minutes = parseWhole(form.minutes);
  if (form.skuId == null || !sku) errors.sku = 'sku';
  if (price == null || price <= 0) errors.price = 'price';
  else if (sku && price >= sku.priceFen) errors.price = 'priceNotLower';
  if (quantity == null || quantity < 1) errors.quantity = 'quantity';
  else if (sku && quantity > sku.stock) errors.quantity = 'quantityOverStock';
  if (perUser == null || perUser < 1) errors.perUser = 'perUser';
  if (minutes == null || minutes < 1 || minutes > 120) errors.minutes = 'minutes';
  return result(errors, () => ({
    sku_id: form.skuId as number,
    sale_price_fen: price as number,
    quantity: quantity as number,
    per_user_limit: perUser as number,
    duration_secs: (minutes as number) * 60,
  }));
}

export interface CouponForm {
  title: string;
  amountOff: string;
  threshold: string;
  quantity: string;
  minutes: string;
}

export function checkCoupon(form: CouponForm, liveId: number, nowMs: number) {
  const errors: FieldErrors = {};
  const title = form.title.trim();
  const amountOff = parseYuan(form.amountOff);
  const threshold = form.threshold.trim() === '' ? 0 : parseYuan(form.threshold);
  const quantity = parseWhole(form.quantity);
  const minutes = parseWhole(form.minutes);
  if (title.length < 1 || title.length > 30) errors.title = 'title';
  if (amountOff == null || amountOff <= 0) errors.amountOff = 'amountOff';
  if (threshold == null) errors.threshold = 'threshold';
  else if (amountOff != null && threshold > 0 && amountOff >= threshold) errors.amountOff = 'amountOverThreshold';
  if (quantity == null || quantity < 1) errors.quantity = 'quantity';
  if (minutes == null || minutes < 1 || minutes > 7 * 24 * 60) errors.minutes = 'validity';
  return result(errors, () => ({
    live_id: liveId,
    title,
    amount_off_fen: amountOff as number,
    threshold_fen: threshold as number,
    quantity: quantity as number,
    per_user_limit: 1,
    valid_until_ms: nowMs + (minutes as number) * 60_000,
  }));
}

export interface LotteryForm {
  prize: string;
  winners: string;
  keyword: string;
  minutes: string;
}

export function checkLottery(form: LotteryForm) {
  const errors: FieldErrors = {};
  const prize = form.prize.trim();
  const winners = parseWhole(form.winners);
  const keyword = form.keyword.trim();
  const minutes = parseWhole(form.minutes);
  if (prize.length < 1 || prize.length > 40) errors.prize = 'prize';
  if (winners == null || winners < 1 || winners > 1000) errors.winners = 'winners';
  if (keyword.length > 20) errors.keyword = 'keyword';
  if (minutes == null || minutes < 1 || minutes > 60) errors.minutes = 'lotteryMinutes';
  return result(errors, () => ({
    prize,
    winners: winners as number,
    keyword: keyword || undefined,
    duration_secs: (minutes as number) * 60,
  }));
}
