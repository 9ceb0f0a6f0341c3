import { Compass } from 'lucide-react';
import { Link } from 'react-router-dom';

import { EmptyState } from '../components/states';

export default function NotFound() {
  return (
    <EmptyState title="Page not found" icon={<Compass aria-hidden className="h-8 w-8" />}>
      Nothing lives at this address. <Link to="/" className="link">Back to the overview</Link>.
    </EmptyState>
  );
}
