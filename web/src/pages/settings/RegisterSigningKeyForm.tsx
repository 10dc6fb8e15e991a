/**
 * Registering a package signing key (POST /v1/signing-keys): a name and the public key, pasted
 * (the PEM of signing_key.pub, or the base64 line `mosis keys generate` prints) or read from the
 * file itself. A private key is refused here, before it could leave the computer.
 */
import { useMutation } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { api, unwrap } from '../../api/client';
import { formProblem } from '../../api/problem';
import type { Schemas } from '../../api/types';
import { Field, FormError, SubmitButton, TextAreaField, formValues } from '../../components/form';

type SigningKey = Schemas['SigningKey'];

/** signing_key.pub is a few hundred bytes; anything much larger is not a public key. */
const MAX_FILE_BYTES = 16 * 1024;
const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

export function RegisterSigningKeyForm({ onRegistered, onCancel }: { onRegistered: (key: SigningKey) => void; onCancel: () => void }) {
  const [publicKey, setPublicKey] = useState('');
  const [localError, setLocalError] = useState<string | null>(null);
  const fileHint = useId();
  const register = useMutation({ mutationFn: (body: { name: string; public_key: string }) => unwrap(api.POST('/v1/signing-keys', { body })), onSuccess: onRegistered });
  const problem = formProblem(register.error, ['name', 'public_key'], { invalid_public_key: 'public_key', signing_key_exists: 'public_key' });

  const readFile = async (file: File | undefined) => {
    setLocalError(null);
    if (!file) return;
    if (file.size > MAX_FILE_BYTES) return setLocalError(`${file.name} is too large to be a public key; choose signing_key.pub.`);
    const text = await file.text();
    if (PRIVATE_KEY.test(text)) return setLocalError(`${file.name} is a private key. Never share it: choose signing_key.pub, next to it.`);
    setPublicKey(text.trim());
  };

  return (
    <form
      className="form"
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        const { name } = formValues(event.currentTarget, ['name']);
        if (PRIVATE_KEY.test(publicKey)) return setLocalError('This is a private key. Never share it: paste the public key (signing_key.pub) instead.');
        setLocalError(null);
        register.mutate({ name, public_key: publicKey.trim() });
      }}
    >
      <FormError problem={problem} />
      <Field label="Name" name="name" required maxLength={100} autoFocus hint="Which key this is, such as “Laptop” or “Release CI”." error={problem.field('name')} />
      <TextAreaField
        label="Public key"
        name="public_key"
        value={publicKey}
        onChange={(event) => setPublicKey(event.currentTarget.value)}
        required
        spellCheck={false}
        autoCapitalize="none"
        className="sa-mono"
        rows={5}
        placeholder={'-----BEGIN PUBLIC KEY-----\n…\n-----END PUBLIC KEY-----'}
        hint={
          <>
            The PEM in <code>~/.mosis/signing_key.pub</code>, or the base64 line <code>mosis keys generate</code> printed. Only the public half: the private key never leaves your computer.
          </>
        }
        error={localError ?? problem.field('public_key')}
      />
      <div className="field">
        <label htmlFor={`${fileHint}-file`}>Or choose the file</label>
        <input id={`${fileHint}-file`} type="file" accept=".pub,.pem,text/plain" aria-describedby={fileHint} onChange={(event) => void readFile(event.currentTarget.files?.[0])} />
        <p className="field-hint" id={fileHint}>
          <code>signing_key.pub</code>, in <code>~/.mosis</code> unless you chose another folder. It is read here and its text put above.
        </p>
      </div>
      <div className="sa-buttons">
        <SubmitButton busy={register.isPending} busyLabel="Registering…">
          Register key
        </SubmitButton>
        <button type="button" className="button" onClick={onCancel} disabled={register.isPending}>
          Cancel
        </button>
      </div>
    </form>
  );
}
