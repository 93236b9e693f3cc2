import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { Product } from '../bindings/Product';
import { ApiError } from '../viewer/api';
import { formatFen } from '../viewer/money';
import { Field } from './Field';
import { relayCall } from './ipc';
import { parseYuan } from './saleForms';

/** Stock is a whole number of units; 0 sells the SKU out. */
function parseStock(text: string): number | null {
  const trimmed = text.trim();
  return /^\d{1,7}$/.test(trimmed) ? Number(trimmed) : null;
}

/** Price and stock of a product's SKUs, changed during the live (改价, 补库存). */
export function SkuEditor({ product, onSaved }: { product: Product; onSaved: () => void }) {
  const { t } = useTranslation();
  const [drafts, setDrafts] = useState(() =>
    Object.fromEntries(
      product.skus.map((s) => [s.id, { price: (s.price_fen / 100).toFixed(2), stock: String(s.stock) }]),
    ),
  );
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState<string | null>(null);

  const save = async (skuId: number) => {
    const draft = drafts[skuId];
    if (!draft) return;
    const price = parseYuan(draft.price);
    const stock = parseStock(draft.stock);
    const next: Record<string, string> = {};
    if (price == null || price <= 0) next[`${skuId}-price`] = t('studio.sales.errors.price');
    if (stock == null) next[`${skuId}-stock`] = t('studio.products.stockInvalid');
    setErrors(next);
    setSaved(null);
    if (Object.keys(next).length) return;
    try {
      await relayCall('PATCH', `/api/products/${product.id}/skus/${skuId}`, { price_fen: price, stock });
      setSaved(t('studio.products.saved'));
      onSaved();
    } catch (e) {
      const message = e instanceof ApiError ? e.message : String(e);
      const field = e instanceof ApiError && e.field ? e.field : 'price';
      setErrors({ [`${skuId}-${field === 'stock' ? 'stock' : 'price'}`]: message });
    }
  };

  return (
    <div className="sku-editor" data-testid={`sku-editor-${product.id}`}>
      {product.skus.map((sku) => {
        const priceId = `sku-${sku.id}-price`;
        const stockId = `sku-${sku.id}-stock`;
        const priceError = errors[`${sku.id}-price`];
        const stockError = errors[`${sku.id}-stock`];
        const draft = drafts[sku.id] ?? { price: '', stock: '' };
        return (
          <form
            key={sku.id}
            className="row"
            noValidate
            onSubmit={(e) => {
              e.preventDefault();
              void save(sku.id);
            }}
          >
            <span className="sku-name">{sku.name}</span>
            <Field id={priceId} label={t('studio.products.price', { current: formatFen(sku.price_fen) })} error={priceError}>
              {(a) => (
                <input {...a} inputMode="decimal" value={draft.price} onChange={(e) => setDrafts({ ...drafts, [sku.id]: { ...draft, price: e.target.value } })} />
              )}
            </Field>
            <Field id={stockId} label={t('studio.products.stockLabel')} error={stockError}>
              {(a) => (
                <input {...a} inputMode="numeric" value={draft.stock} onChange={(e) => setDrafts({ ...drafts, [sku.id]: { ...draft, stock: e.target.value } })} />
              )}
            </Field>
            <button type="submit">{t('studio.products.save')}</button>
          </form>
        );
      })}
      {saved && (
        <p role="status" className="notice">
          {saved}
        </p>
      )}
    </div>
  );
}
