// "Run pipeline" where no project is implied (the pipelines page): choose a project, then one of its definitions.

import { useState } from 'react';

import { getProject, listDefinitions, listReleases } from '../api/endpoints';
import { useResource } from '../lib/useResource';
import { Field } from './Modal';
import { RunForm } from './RunForm';
import { ErrorState, LoadingState } from './states';

export function RunAnyProject({ projects, initialProject }: { projects: string[]; initialProject?: string }) {
  const [project, setProject] = useState(initialProject && projects.includes(initialProject) ? initialProject : (projects[0] ?? ''));
  const data = useResource(
    async (signal) => {
      if (!project) return null;
      const [definitions, p, releases] = await Promise.all([
        listDefinitions(project, signal),
        getProject(project, signal),
        listReleases(project, undefined, signal),
      ]);
      return { definitions, environments: p.environments, releases: releases.items };
    },
    [project],
  );
  if (projects.length === 0) return <p className="text-sm text-muted">Create a project first.</p>;
  return (
    <div className="space-y-4">
      <Field label="Project" htmlFor="run-project">
        <select id="run-project" className="input" value={project} onChange={(e) => setProject(e.target.value)}>
          {projects.map((p) => (
            <option key={p} value={p}>
              {p}
            </option>
          ))}
        </select>
      </Field>
      {data.error ? (
        <ErrorState error={data.error} onRetry={data.reload} compact />
      ) : !data.data ? (
        <LoadingState label="Loading definitions…" />
      ) : (
        <RunForm key={project} project={project} {...data.data} />
      )}
    </div>
  );
}
