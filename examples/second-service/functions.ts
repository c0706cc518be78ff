import type { FunctionDeclaration } from "lambda-rds-iam";

/** This service's one function: its own MySQL user may read and add orders, nothing else. */
export const FUNCTIONS: Record<string, FunctionDeclaration> = {
  orders: {
    description: "records and lists orders",
    trigger: { kind: "invoke" },
    database: { user: "orders_app", grants: { orders: ["SELECT", "INSERT"] } },
  },
};
