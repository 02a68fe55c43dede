package sqlstore

import (
	"context"
	"database/sql"
	"sort"

	"github.com/agenttrace/agenttrace"
)

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Prices answers the built-in prices overridden by the account's own.
func (s *Store) Prices(ctx context.Context, accountID string) ([]agenttrace.Price, error) {
	return s.pricesFrom(ctx, s.read, accountID)
}

func (s *Store) pricesTx(ctx context.Context, tx *Tx, accountID string) ([]agenttrace.Price, error) {
	return s.pricesFrom(ctx, tx, accountID)
}

func (s *Store) pricesFrom(ctx context.Context, q querier, accountID string) ([]agenttrace.Price, error) {
	byModel := make(map[string]agenttrace.Price, len(agenttrace.DefaultPrices))
	for _, p := range agenttrace.DefaultPrices {
		byModel[p.Model] = p
	}
	rows, err := q.QueryContext(ctx, s.q(`SELECT model, input_per_million, output_per_million FROM prices WHERE account_id = ?`), accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var p agenttrace.Price
		if err := rows.Scan(&p.Model, &p.InputPerMillion, &p.OutputPerMillion); err != nil {
			return nil, err
		}
		byModel[p.Model] = p
	}
	out := make([]agenttrace.Price, 0, len(byModel))
	for _, p := range byModel {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Model < out[j].Model })
	return out, rows.Err()
}

// PutPrices sets the account's price of each given model.
func (s *Store) PutPrices(ctx context.Context, accountID string, prices []agenttrace.Price) error {
	return s.inStmtTx(ctx, func(tx *Tx) error {
		for _, p := range prices {
			if _, err := tx.Exec(ctx, (`INSERT INTO prices (account_id, model, input_per_million, output_per_million) VALUES (?, ?, ?, ?)
				ON CONFLICT (account_id, model) DO UPDATE SET input_per_million = excluded.input_per_million, output_per_million = excluded.output_per_million`),
				accountID, p.Model, p.InputPerMillion, p.OutputPerMillion); err != nil {
				return err
			}
		}
		return nil
	})
}
