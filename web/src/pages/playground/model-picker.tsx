// The model picker: the catalogue's chat models grouped by whether this deployment can answer with them,
// the chosen one's provider, context and price, and the whole catalogue in a table to compare.
import type { JSX } from 'preact';
import { fmtInt } from '../../lib/format';
import { Select } from '../../ui/components';
import { type CatalogueModel, fmtPrice } from './catalogue';

const optionLabel = (m: CatalogueModel): string => `${m.name} · ${m.provider}`;

export function ModelPicker({
  models,
  value,
  onChange,
}: {
  models: CatalogueModel[];
  value: string;
  onChange: (id: string) => void;
}): JSX.Element {
  const available = models.filter((m) => m.available);
  const elsewhere = models.filter((m) => !m.available);
  const chosen = models.find((m) => m.id === value);
  return (
    <div class="pg-model">
      <Select
        label="Model"
        name="model"
        value={value}
        aria-describedby="pg-model-facts"
        onChange={(e) => onChange((e.currentTarget as HTMLSelectElement).value)}
      >
        {available.length > 0 ? (
          <optgroup label="Available on this deployment">
            {available.map((m) => (
              <option key={m.id} value={m.id}>
                {optionLabel(m)}
              </option>
            ))}
          </optgroup>
        ) : null}
        {elsewhere.length > 0 ? (
          <optgroup label="Not configured here (its provider has no key)">
            {elsewhere.map((m) => (
              <option key={m.id} value={m.id}>
                {optionLabel(m)} (not available)
              </option>
            ))}
          </optgroup>
        ) : null}
      </Select>
      {chosen ? (
        <dl id="pg-model-facts" class="pg-facts small" data-testid="model-facts">
          <div>
            <dt>Provider</dt>
            <dd>{chosen.provider}</dd>
          </div>
          <div>
            <dt>Context</dt>
            <dd>{fmtInt(chosen.context_length)} tokens</dd>
          </div>
          <div>
            <dt>Price per 1K tokens</dt>
            <dd>
              {fmtPrice(chosen.cost_per_token.input)} in · {fmtPrice(chosen.cost_per_token.output)} out
            </dd>
          </div>
          <div>
            <dt>Here</dt>
            <dd>
              {chosen.available ? (
                <span class="badge ok">Available</span>
              ) : (
                <span class="badge bad">Not available on this deployment</span>
              )}
            </dd>
          </div>
        </dl>
      ) : null}
      <details class="pg-catalogue">
        <summary>All chat models ({models.length})</summary>
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Chat models in the catalogue</caption>
            <thead>
              <tr>
                <th scope="col">Model</th>
                <th scope="col">Provider</th>
                <th scope="col">Context</th>
                <th scope="col">In / 1K</th>
                <th scope="col">Out / 1K</th>
                <th scope="col">Here</th>
              </tr>
            </thead>
            <tbody>
              {models.map((m) => (
                <tr key={m.id}>
                  <th scope="row">
                    <code>{m.id}</code>
                  </th>
                  <td>{m.provider}</td>
                  <td>{fmtInt(m.context_length)}</td>
                  <td>{fmtPrice(m.cost_per_token.input)}</td>
                  <td>{fmtPrice(m.cost_per_token.output)}</td>
                  <td>{m.available ? 'Available' : 'Not available'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </div>
  );
}
