// Routes: each page is its own chunk (loaded on first visit), so the first load carries only the shell.

import { lazy, Suspense } from 'react';
import { Route, Routes } from 'react-router-dom';

import { RequireAuth } from './auth/AuthContext';
import { Layout } from './components/Layout';
import { LoadingState } from './components/states';

const Login = lazy(() => import('./pages/Login'));
const Overview = lazy(() => import('./pages/Overview'));
const Projects = lazy(() => import('./pages/Projects'));
const ProjectDetail = lazy(() => import('./pages/ProjectDetail'));
const Pipelines = lazy(() => import('./pages/Pipelines'));
const PipelineDetail = lazy(() => import('./pages/PipelineDetail'));
const AdminUsers = lazy(() => import('./pages/AdminUsers'));
const AdminTokens = lazy(() => import('./pages/AdminTokens'));
const Chat = lazy(() => import('./pages/Chat'));
const Audit = lazy(() => import('./pages/Audit'));
const NotFound = lazy(() => import('./pages/NotFound'));

export function App() {
  return (
    <Suspense fallback={<LoadingState />}>
      <Routes>
        <Route path="/login" element={<Login />} />
        <Route
          element={
            <RequireAuth>
              <Layout />
            </RequireAuth>
          }
        >
          <Route index element={<Overview />} />
          <Route path="projects" element={<Projects />} />
          <Route path="projects/:slug" element={<ProjectDetail />} />
          <Route path="pipelines" element={<Pipelines />} />
          <Route path="pipelines/:id" element={<PipelineDetail />} />
          <Route path="pipelines/:id/jobs/:jobId" element={<PipelineDetail />} />
          <Route path="admin/users" element={<AdminUsers />} />
          <Route path="admin/tokens" element={<AdminTokens />} />
          <Route path="chat" element={<Chat />} />
          <Route path="admin/audit" element={<Audit />} />
          <Route path="*" element={<NotFound />} />
        </Route>
      </Routes>
    </Suspense>
  );
}
