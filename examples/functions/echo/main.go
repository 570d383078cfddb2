// echo: the request body arrives on stdin; whatever the program prints is the response.
package main

import (
	"fmt"
	"io"
	"log"
	"os"
)

func main() {
	input, err := io.ReadAll(os.Stdin)
	if err != nil {
		log.Fatalf("Unable to read standard input: %s", err.Error())
	}
	fmt.Print(string(input))
}
