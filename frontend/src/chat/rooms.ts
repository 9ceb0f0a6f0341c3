// Room ids (`general`, `project:<slug>`, `dm:<user id>`), their socket topics and how people read them.

export const GENERAL = 'general';

export const roomTopic = (room: string) => `room:${room}`;

/** The private room of `userId` with the bot. */
export const privateRoom = (userId: string) => `dm:${userId}`;

export function roomLabel(room: string): string {
  if (room === GENERAL) return '# general';
  if (room.startsWith('project:')) return `# ${room.slice('project:'.length)}`;
  if (room.startsWith('dm:')) return 'You and the bot';
  return room;
}

/** What a room is for, in a sentence (a tooltip and the header's subtitle). */
export function roomPurpose(room: string): string {
  if (room === GENERAL) return 'Everyone; name the project in each command.';
  if (room.startsWith('project:')) return `Commands here apply to ${room.slice('project:'.length)} unless you name another project.`;
  if (room.startsWith('dm:')) return 'Only you and the bot read this room.';
  return '';
}

/** general first, then project rooms by name, then the private room. */
export function sortRooms(ids: string[]): string[] {
  const rank = (id: string) => (id === GENERAL ? 0 : id.startsWith('project:') ? 1 : 2);
  return [...ids].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}
