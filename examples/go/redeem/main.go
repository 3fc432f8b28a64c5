// Command redeem is the last step of a Go loan service before it pays out: redeem an idverify token, exactly once,
// for the loan application, amount and payout account it is about to act on.
//
//	IDVERIFY_API_KEY=... redeem -server 127.0.0.1:50051 -token "$token" -loan L-1 -amount 1200.00 \
//	    -payout-account 6222020000000001
//
// It prints one JSON object. Exit status: 0 redeemed now, 1 refused (the reason code is printed), 2 usage error.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	idverifyv1 "idverify/gen/go/idverify/v1"
)

func main() {
	server := flag.String("server", "127.0.0.1:50051", "idverify gRPC address")
	token := flag.String("token", "", "the token from CompleteVerification")
	loan := flag.String("loan", "", "loan application id")
	amount := flag.String("amount", "", "decimal amount, e.g. 1200.00")
	currency := flag.String("currency", "CNY", "ISO 4217 currency")
	account := flag.String("payout-account", "", "the account the money goes to")
	flag.Parse()
	apiKey := os.Getenv("IDVERIFY_API_KEY")
	if *token == "" || *loan == "" || *amount == "" || *account == "" || apiKey == "" {
		fmt.Fprintln(os.Stderr, "redeem: -token, -loan, -amount, -payout-account and IDVERIFY_API_KEY are required")
		os.Exit(2)
	}

	conn, err := grpc.Dial(*server, grpc.WithInsecure())
	if err != nil {
		fmt.Fprintln(os.Stderr, "redeem:", err)
		os.Exit(2)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "x-api-key", apiKey)

	var trailer metadata.MD
	reply, err := idverifyv1.NewTokenServiceClient(conn).RedeemToken(ctx, &idverifyv1.RedeemTokenRequest{
		Token:             *token,
		LoanApplicationId: *loan,
		Amount:            &idverifyv1.Money{Value: *amount, Currency: *currency},
		PayoutAccount:     *account,
	}, grpc.Trailer(&trailer))
	out := json.NewEncoder(os.Stdout)
	if err != nil {
		reason := status.Code(err).String()
		if values := trailer.Get("idverify-reason"); len(values) > 0 {
			reason = values[0]
		}
		_ = out.Encode(map[string]any{"refused": map[string]string{"reason": reason, "detail": status.Convert(err).Message()}})
		os.Exit(1)
	}
	_ = out.Encode(map[string]any{"redeemed": map[string]any{
		"token_id": reply.GetTokenId(), "redemption_id": reply.GetRedemptionId(), "session_id": reply.GetSessionId(),
		"methods": reply.GetMethods(),
	}})
}
