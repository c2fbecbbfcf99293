import { useState, type FormEvent } from 'react';

/** Shown when the server refused a request with 401: auth is on and no (valid) token was sent. */
export function TokenPrompt({ onSave }: { onSave: (token: string | undefined) => void }) {
  const [value, setValue] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onSave(value.trim() || undefined);
  };
  return (
    <form className="card callout--warning token" onSubmit={submit}>
      <p>
        <strong>This Tally server needs an API token.</strong> It is kept in this browser only.
      </p>
      <label className="field">
        <span>API token</span>
        <input
          type="password"
          autoComplete="off"
          value={value}
          onChange={(e) => setValue(e.target.value)}
          required
        />
      </label>
      <div className="actions">
        <button type="submit" className="button button--primary">
          Save token
        </button>
      </div>
    </form>
  );
}
