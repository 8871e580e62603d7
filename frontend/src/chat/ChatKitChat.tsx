/** ChatKit (OpenAI's web component) against our own `/chatkit` backend. */
import { useState } from "react";
import { ChatKit, useChatKit } from "@openai/chatkit-react";
import { buildChatKitOptions, type ChatKitWiring } from "./chatkitOptions";
import { loadLastThread, saveLastThread } from "./lastThread";

type Props = Omit<ChatKitWiring, "initialThread" | "onThreadChange"> & { user: string };

export function ChatKitChat({ user, ...rest }: Props) {
  // Read once: a changing initialThread would make ChatKit re-open that thread on every options update.
  const [initialThread] = useState(() => loadLastThread(user));
  const { control } = useChatKit(
    buildChatKitOptions({
      ...rest,
      initialThread,
      onThreadChange: (threadId) => saveLastThread(user, threadId),
    }),
  );
  return <ChatKit control={control} className="chatkit" />;
}
