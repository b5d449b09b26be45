// The wall's risk levels (the vocabulary the review pages share is in lib/vocabulary.js).
export function riskLevel(score) {
  if (score >= 60) return "high";
  if (score >= 30) return "medium";
  return "low";
}
