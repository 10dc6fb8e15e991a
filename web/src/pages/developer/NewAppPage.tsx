/**
 * /apps/new: registers an app (POST /v1/apps): its package id, which is reserved for it from then
 * on and must match the `id` of every package uploaded to it, and its default store listing. The
 * API's field errors sit under their fields; a taken package id under the package id.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useId } from 'react';
import { Link, useNavigate } from 'react-router';
import { api, unwrap } from '../../api/client';
import { formProblem } from '../../api/problem';
import { APPS_KEY } from '../../components/appQueries';
import { Field, FormError, SubmitButton, TextAreaField, formValues } from '../../components/form';
import { Page } from '../../components/Page';

const FIELDS = ['package_id', 'name', 'summary', 'description', 'category'] as const;

interface NewApp {
  package_id: string;
  name: string;
  summary: string;
  description: string;
  category: string | null;
}

export default function NewAppPage() {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const categoriesId = useId();
  const create = useMutation({
    mutationFn: (body: NewApp) => unwrap(api.POST('/v1/apps', { body })),
    onSuccess: (app) => {
      void queryClient.invalidateQueries({ queryKey: APPS_KEY });
      void navigate(`/apps/${app.id}`);
    },
  });
  // The store's categories, as suggestions: any lowercase slug is accepted.
  const categories = useQuery({
    queryKey: ['/v1/store/categories'],
    queryFn: ({ signal }) => unwrap(api.GET('/v1/store/categories', { signal })),
    staleTime: 5 * 60_000,
  });
  const problem = formProblem(create.error, FIELDS, { package_id_taken: 'package_id' });

  return (
    <Page title="New app" narrow description="Reserve a package id and write the app's store listing. You can change everything but the package id later.">
      <form
        className="form card"
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          const values = formValues(event.currentTarget, FIELDS);
          create.mutate({ ...values, package_id: values.package_id.trim(), category: values.category.trim() === '' ? null : values.category.trim() });
        }}
      >
        <FormError problem={problem} />
        <Field
          label="Package id"
          name="package_id"
          required
          autoFocus
          autoComplete="off"
          autoCapitalize="none"
          spellCheck={false}
          placeholder="com.example.notes"
          hint={
            <>
              Reverse-domain, lowercase, as <code>id</code> in your package&apos;s <code>manifest.json</code>. It cannot change.
            </>
          }
          error={problem.field('package_id')}
        />
        <Field label="Name" name="name" required maxLength={50} hint="Up to 50 characters, as the store shows it." error={problem.field('name')} />
        <Field label="Summary" name="summary" maxLength={80} hint="One line, up to 80 characters." error={problem.field('summary')} />
        <TextAreaField label="Description" name="description" maxLength={4000} rows={6} hint="Up to 4000 characters." error={problem.field('description')} />
        <Field
          label="Category"
          name="category"
          list={categoriesId}
          autoComplete="off"
          autoCapitalize="none"
          placeholder="productivity"
          hint="Optional: a lowercase word such as productivity or games."
          error={problem.field('category')}
        />
        <datalist id={categoriesId}>
          {(categories.data?.items ?? []).map((item) => (
            <option key={item.category} value={item.category} />
          ))}
        </datalist>
        <div className="dev-form-actions">
          <SubmitButton busy={create.isPending} busyLabel="Creating…">
            Create app
          </SubmitButton>
          <Link to="/apps" className="button button-plain">
            Cancel
          </Link>
        </div>
      </form>
    </Page>
  );
}
