package textfold

import "testing"

func TestFoldTheFrenchWay(t *testing.T) {
	for in, want := range map[string]string{
		"CPTS Étang":                    "cpts etang",
		"ÉTANG":                         "etang",
		"étang":                         "etang",
		"Île-de-France":                 "ile de france",
		"L’Orée du Bois":                "l oree du bois",
		"l'oree":                        "l oree",
		"BÉRRE":                         "berre",
		"Cœur de Loire":                 "coeur de loire",
		"Évreux  —  Normandie":          "evreux normandie",
		"Straße":                        "strasse",
		"  CPTS du Val de Loire  ":      "cpts du val de loire",
		"0190a0e2-7c4e-7b1a-9f3e-2d1c5": "0190a0e2 7c4e 7b1a 9f3e 2d1c5",
		"":                              "",
	} {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSuggest(t *testing.T) {
	cpams := []string{"CPAM de Paris", "CPAM du Loiret", "CPAM du Loir-et-Cher", "CPAM de l'Eure"}
	for in, want := range map[string][]string{
		"cpam du loiret": {"CPAM du Loiret"},
		"Loiret":         {"CPAM du Loiret"},
		"Loir":           {"CPAM du Loiret", "CPAM du Loir-et-Cher"},
		"CPAM de Pari":   {"CPAM de Paris"},
		"eure":           {"CPAM de l'Eure"},
	} {
		got := Suggest(in, cpams)
		if len(got) != len(want) {
			t.Errorf("Suggest(%q) = %q, want %q", in, got, want)
			continue
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("Suggest(%q) = %q, want %q", in, got, want)
			}
		}
	}
	if Suggest("x", nil) != nil {
		t.Error("a suggestion among nothing")
	}
}
