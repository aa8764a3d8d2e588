// One AdmissionReview POST over a fresh connection, for checking what a server answers before loading it.
import { buildRequest, HttpConnection, type Target } from '../load/http-connection.ts';

export interface ProbeAnswer {
  status: number;
  review?: { kind?: string; response?: { uid?: string; allowed?: boolean; patch?: string; status?: { message?: string } } };
  text: string;
}

export async function postReview(target: Target, body: string): Promise<ProbeAnswer> {
  const connection = await HttpConnection.open(target);
  try {
    const { status, answer } = await new Promise<{ status: number; answer: Buffer }>((resolve, reject) =>
      connection.send(buildRequest(target, body), (error, status, answer) =>
        error || !answer ? reject(error ?? new Error('no answer')) : resolve({ status, answer }),
      ),
    );
    const text = answer.toString('utf8');
    let review: ProbeAnswer['review'];
    try {
      review = JSON.parse(text) as ProbeAnswer['review'];
    } catch {
      review = undefined;
    }
    return { status, review, text };
  } finally {
    connection.close();
  }
}
