/**
 * /apps/:appId/listing, the store listing editor: the default listing (PATCH /v1/apps/{app_id}:
 * name, summary, description, category) and one per locale (PUT/DELETE
 * /v1/apps/{app_id}/listings/{locale}), chosen from a list of the app's languages with a way to
 * add one; the icon (POST/DELETE …/icon) and the screenshots (POST …/screenshots, DELETE one),
 * each previewed before it is uploaded, with the portal's size and format rules as guidance.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { formProblem } from '../../api/problem';
import type { App, Listing, Screenshot } from '../../api/types';
import { APPS_KEY, appQuery, listingsQuery, LISTINGS_KEY } from '../../components/appQueries';
import { AppIcon, AppSectionNav } from '../../components/AppSectionNav';
import { ConfirmDialog } from '../../components/Dialog';
import { Field, FormError, SubmitButton, TextAreaField, formValues } from '../../components/form';
import { ListingImageUpload } from '../../components/ListingImageUpload';
import { MAX_SCREENSHOTS } from '../../components/listingImageRules';
import { Page } from '../../components/Page';
import { ErrorState, Loading } from '../../components/states';
import { useAppLiveEvents } from '../../components/useAppLiveEvents';

/** The listing being edited: the default one, a translation, or a new translation. */
type Selected = { kind: 'default' } | { kind: 'locale'; locale: string } | { kind: 'new' };

const localeNames = typeof Intl.DisplayNames === 'function' ? new Intl.DisplayNames(undefined, { type: 'language' }) : null;

function localeName(locale: string): string {
  try {
    const name = localeNames?.of(locale);
    return name && name !== locale ? `${name} (${locale})` : locale;
  } catch {
    return locale;
  }
}

export default function AppListingPage() {
  const { appId = '' } = useParams();
  useAppLiveEvents();
  const app = useQuery(appQuery(appId));
  const listings = useQuery(listingsQuery(appId));
  return (
    <Page title="Store listing" description="What the store shows: the text in each language, the icon and the screenshots.">
      <AppSectionNav appId={appId} app={app.data} />
      {app.isPending ? (
        <Loading label="Loading the listing" />
      ) : app.isError ? (
        <ErrorState error={app.error} onRetry={() => void app.refetch()} />
      ) : (
        <div className="dev-listing-page">
          <section className="card" aria-labelledby="listing-text">
            <h2 id="listing-text">Text</h2>
            {listings.isPending ? (
              <Loading label="Loading the translations" />
            ) : listings.isError ? (
              <ErrorState error={listings.error} onRetry={() => void listings.refetch()} />
            ) : (
              <ListingText app={app.data} listings={listings.data.items} />
            )}
          </section>
          <IconSection app={app.data} />
          <ScreenshotsSection app={app.data} />
        </div>
      )}
    </Page>
  );
}

function ListingText({ app, listings }: { app: App; listings: Listing[] }) {
  const [selected, setSelected] = useState<Selected>({ kind: 'default' });
  // A deleted locale (here or in another tab) falls back to the default listing.
  const current: Selected = selected.kind === 'locale' && !listings.some((l) => l.locale === selected.locale) ? { kind: 'default' } : selected;
  const isCurrent = (s: Selected) => s.kind === current.kind && (s.kind !== 'locale' || (current.kind === 'locale' && current.locale === s.locale));
  const tabs: { selected: Selected; label: string }[] = [
    { selected: { kind: 'default' }, label: 'Default' },
    ...listings.map((l) => ({ selected: { kind: 'locale' as const, locale: l.locale }, label: localeName(l.locale) })),
  ];
  return (
    <div className="dev-listing-editor">
      <nav aria-label="Languages" className="dev-locale-list">
        <ul>
          {tabs.map((tab) => (
            <li key={tab.selected.kind === 'locale' ? tab.selected.locale : 'default'}>
              <button type="button" className={isCurrent(tab.selected) ? 'dev-locale-tab dev-locale-tab-current' : 'dev-locale-tab'} aria-current={isCurrent(tab.selected) ? 'true' : undefined} onClick={() => setSelected(tab.selected)}>
                {tab.label}
              </button>
            </li>
          ))}
          <li>
            <button type="button" className={current.kind === 'new' ? 'dev-locale-tab dev-locale-tab-current' : 'dev-locale-tab'} aria-current={current.kind === 'new' ? 'true' : undefined} onClick={() => setSelected({ kind: 'new' })}>
              + Add a language
            </button>
          </li>
        </ul>
      </nav>
      <div className="dev-locale-form">
        {current.kind === 'default' ? (
          <DefaultListingForm key="default" app={app} />
        ) : current.kind === 'new' ? (
          <TranslationForm key="new" app={app} listing={null} onSaved={(locale) => setSelected({ kind: 'locale', locale })} onDeleted={() => setSelected({ kind: 'default' })} />
        ) : (
          <TranslationForm
            key={current.locale}
            app={app}
            listing={listings.find((l) => l.locale === current.locale) ?? null}
            onSaved={(locale) => setSelected({ kind: 'locale', locale })}
            onDeleted={() => setSelected({ kind: 'default' })}
          />
        )}
      </div>
    </div>
  );
}

const DEFAULT_FIELDS = ['name', 'summary', 'description', 'category'] as const;

function DefaultListingForm({ app }: { app: App }) {
  const queryClient = useQueryClient();
  const save = useMutation({
    mutationFn: (body: { name: string; summary: string; description: string; category: string | null }) => unwrap(api.PATCH('/v1/apps/{app_id}', { params: { path: { app_id: app.id } }, body })),
    onSuccess: (updated) => {
      queryClient.setQueryData(appQuery(app.id).queryKey, updated);
      void queryClient.invalidateQueries({ queryKey: APPS_KEY });
    },
  });
  const problem = formProblem(save.error, DEFAULT_FIELDS);
  return (
    <form
      className="form"
      noValidate
      aria-labelledby="default-listing-heading"
      onSubmit={(event) => {
        event.preventDefault();
        const values = formValues(event.currentTarget, DEFAULT_FIELDS);
        save.mutate({ ...values, category: values.category.trim() === '' ? null : values.category.trim() });
      }}
    >
      <h3 id="default-listing-heading">Default listing</h3>
      <p className="muted small">Shown wherever no translation matches the device&apos;s language.</p>
      <FormError problem={problem} />
      <ListingFields defaults={app} problem={problem} />
      <Field label="Category" name="category" defaultValue={app.category ?? ''} autoCapitalize="none" hint="A lowercase word such as productivity or games; empty for none." error={problem.field('category')} />
      <div className="dev-form-actions">
        <SubmitButton busy={save.isPending} busyLabel="Saving…">
          Save default listing
        </SubmitButton>
        <span role="status" className="muted small">
          {save.isSuccess ? 'Saved.' : ''}
        </span>
      </div>
    </form>
  );
}

function ListingFields({ defaults, problem }: { defaults: { name: string; summary: string; description: string } | null; problem: ReturnType<typeof formProblem> }) {
  return (
    <>
      <Field label="Name" name="name" required maxLength={50} defaultValue={defaults?.name ?? ''} hint="Up to 50 characters." error={problem.field('name')} />
      <Field label="Summary" name="summary" maxLength={80} defaultValue={defaults?.summary ?? ''} hint="One line, up to 80 characters." error={problem.field('summary')} />
      <TextAreaField label="Description" name="description" maxLength={4000} rows={8} defaultValue={defaults?.description ?? ''} hint="Up to 4000 characters." error={problem.field('description')} />
    </>
  );
}

const TRANSLATION_FIELDS = ['locale', 'name', 'summary', 'description'] as const;

function TranslationForm({ app, listing, onSaved, onDeleted }: { app: App; listing: Listing | null; onSaved: (locale: string) => void; onDeleted: () => void }) {
  const queryClient = useQueryClient();
  const [confirmDelete, setConfirmDelete] = useState(false);
  const save = useMutation({
    mutationFn: ({ locale, ...body }: { locale: string; name: string; summary: string; description: string }) =>
      unwrap(api.PUT('/v1/apps/{app_id}/listings/{locale}', { params: { path: { app_id: app.id, locale } }, body })),
    onSuccess: (saved) => {
      // In the list at once, so the editor stays on it while the list is fetched again.
      queryClient.setQueryData(listingsQuery(app.id).queryKey, (old) =>
        old ? { ...old, items: [...old.items.filter((l) => l.locale !== saved.locale), saved].sort((a, b) => a.locale.localeCompare(b.locale)) } : old,
      );
      void queryClient.invalidateQueries({ queryKey: [LISTINGS_KEY, app.id] });
      onSaved(saved.locale);
    },
  });
  const remove = useMutation({
    mutationFn: (locale: string) => unwrap(api.DELETE('/v1/apps/{app_id}/listings/{locale}', { params: { path: { app_id: app.id, locale } } })),
    onSuccess: () => {
      setConfirmDelete(false);
      void queryClient.invalidateQueries({ queryKey: [LISTINGS_KEY, app.id] });
      onDeleted();
    },
  });
  const problem = formProblem(save.error, TRANSLATION_FIELDS, { listing_limit_reached: 'locale' });
  const heading = listing ? localeName(listing.locale) : 'New language';
  return (
    <form
      className="form"
      noValidate
      aria-labelledby="translation-heading"
      onSubmit={(event) => {
        event.preventDefault();
        const values = formValues(event.currentTarget, TRANSLATION_FIELDS);
        save.mutate({ ...values, locale: listing?.locale ?? values.locale.trim() });
      }}
    >
      <h3 id="translation-heading">{heading}</h3>
      <FormError problem={problem} />
      {listing ? null : (
        <Field
          label="Language"
          name="locale"
          required
          autoFocus
          autoComplete="off"
          autoCapitalize="none"
          spellCheck={false}
          placeholder="de"
          hint={
            <>
              A language tag: language, then an optional script and region, such as <code>de</code>, <code>de-CH</code>, <code>pt-BR</code> or <code>zh-Hant-TW</code>.
            </>
          }
          error={problem.field('locale')}
        />
      )}
      <ListingFields defaults={listing} problem={problem} />
      <div className="dev-form-actions">
        <SubmitButton busy={save.isPending} busyLabel="Saving…">
          {listing ? `Save ${localeName(listing.locale)}` : 'Add language'}
        </SubmitButton>
        {listing ? (
          <button type="button" className="button button-danger" onClick={() => setConfirmDelete(true)}>
            Delete {localeName(listing.locale)}
          </button>
        ) : null}
        <span role="status" className="muted small">
          {save.isSuccess && listing ? 'Saved.' : ''}
        </span>
      </div>
      {listing ? (
        <ConfirmDialog
          open={confirmDelete}
          title={`Delete the ${localeName(listing.locale)} listing?`}
          confirmLabel="Delete listing"
          danger
          busy={remove.isPending}
          onConfirm={() => remove.mutate(listing.locale)}
          onClose={() => {
            setConfirmDelete(false);
            remove.reset();
          }}
        >
          <p>Devices set to this language then see the default listing.</p>
          <FormError problem={formProblem(remove.error, [])} />
        </ConfirmDialog>
      ) : null}
    </form>
  );
}

function IconSection({ app }: { app: App }) {
  const queryClient = useQueryClient();
  const [confirmRemove, setConfirmRemove] = useState(false);
  const remove = useMutation({
    mutationFn: () => unwrap(api.DELETE('/v1/apps/{app_id}/icon', { params: { path: { app_id: app.id } } })),
    onSuccess: () => {
      setConfirmRemove(false);
      void queryClient.invalidateQueries({ queryKey: appQuery(app.id).queryKey });
      void queryClient.invalidateQueries({ queryKey: APPS_KEY });
    },
  });
  return (
    <section className="card" aria-labelledby="listing-icon">
      <h2 id="listing-icon">Icon</h2>
      <div className="dev-icon-current">
        {app.icon_url ? (
          <>
            <img className="dev-icon-large" src={app.icon_url} alt={`The current icon of ${app.name}`} width={128} height={128} />
            <button type="button" className="button button-small" onClick={() => setConfirmRemove(true)}>
              Remove icon
            </button>
          </>
        ) : (
          <>
            <AppIcon app={app} size={64} />
            <p className="muted">No icon yet: the store shows an empty tile.</p>
          </>
        )}
      </div>
      <ListingImageUpload
        appId={app.id}
        kind="icon"
        label={app.icon_url ? 'Replace the icon' : 'Choose an icon'}
        uploadLabel="Upload icon"
        onUploaded={(updated) => {
          queryClient.setQueryData(appQuery(app.id).queryKey, updated as App);
          void queryClient.invalidateQueries({ queryKey: APPS_KEY });
        }}
      />
      <ConfirmDialog
        open={confirmRemove}
        title="Remove the icon?"
        confirmLabel="Remove icon"
        danger
        busy={remove.isPending}
        onConfirm={() => remove.mutate()}
        onClose={() => {
          setConfirmRemove(false);
          remove.reset();
        }}
      >
        <p>The store shows an empty tile until you upload another.</p>
        <FormError problem={formProblem(remove.error, [])} />
      </ConfirmDialog>
    </section>
  );
}

function ScreenshotsSection({ app }: { app: App }) {
  const queryClient = useQueryClient();
  const [removing, setRemoving] = useState<Screenshot | null>(null);
  const remove = useMutation({
    mutationFn: (screenshot: Screenshot) => unwrap(api.DELETE('/v1/apps/{app_id}/screenshots/{screenshot_id}', { params: { path: { app_id: app.id, screenshot_id: screenshot.id } } })),
    onSuccess: () => {
      setRemoving(null);
      void queryClient.invalidateQueries({ queryKey: appQuery(app.id).queryKey });
    },
  });
  const full = app.screenshots.length >= MAX_SCREENSHOTS;
  return (
    <section className="card" aria-labelledby="listing-screenshots">
      <h2 id="listing-screenshots">
        Screenshots{' '}
        <span className="muted small">
          {app.screenshots.length} of {MAX_SCREENSHOTS}
        </span>
      </h2>
      {app.screenshots.length === 0 ? (
        <p className="muted">No screenshots yet. Apps with screenshots are opened more often in the store.</p>
      ) : (
        <ol className="dev-screenshot-grid">
          {app.screenshots.map((screenshot, index) => (
            <li key={screenshot.id}>
              <figure>
                <img src={screenshot.url} alt={`Screenshot ${index + 1} of ${app.name}`} width={screenshot.width} height={screenshot.height} loading="lazy" />
                <figcaption className="muted small">
                  {index + 1}. {screenshot.width}×{screenshot.height}
                </figcaption>
              </figure>
              <button type="button" className="button button-small" onClick={() => setRemoving(screenshot)}>
                Delete<span className="visually-hidden"> screenshot {index + 1}</span>
              </button>
            </li>
          ))}
        </ol>
      )}
      {full ? <p className="muted">An app has at most {MAX_SCREENSHOTS} screenshots: delete one to add another.</p> : null}
      <ListingImageUpload
        appId={app.id}
        kind="screenshot"
        label="Add a screenshot"
        uploadLabel="Upload screenshot"
        disabled={full}
        onUploaded={() => {
          void queryClient.invalidateQueries({ queryKey: appQuery(app.id).queryKey });
          void queryClient.invalidateQueries({ queryKey: APPS_KEY });
        }}
      />
      <ConfirmDialog
        open={removing !== null}
        title="Delete this screenshot?"
        confirmLabel="Delete screenshot"
        danger
        busy={remove.isPending}
        onConfirm={() => removing && remove.mutate(removing)}
        onClose={() => {
          setRemoving(null);
          remove.reset();
        }}
      >
        {removing ? <img className="dev-dialog-preview" src={removing.url} alt="The screenshot to delete" /> : null}
        <p>It is removed from the store at once.</p>
        <FormError problem={formProblem(remove.error, [])} />
      </ConfirmDialog>
    </section>
  );
}
